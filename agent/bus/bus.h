// Both sides of the agent's control API on D-Bus: the interface and its names (bus_api.h),
// the agent's server (bus_server.h) and the caller's client (bus_client.h). Code that uses
// one side includes that side's header.
#pragma once

#include "bus/bus_api.h"
#include "bus/bus_client.h"
#include "bus/bus_server.h"
