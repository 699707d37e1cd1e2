# shellcheck shell=bash
# Group "mongo": what scripts/ipo-mongo-archive, its tests (tests/mongo) and its benchmark
# (bench/mongo) need on Debian 12:
#   - OpenSSH server (the lab's backup server; started by the tests on loopback only),
#     curl, flock, tzdata;
#   - pymongo in $IPO_TOOLS/venv (the archive script's dump/verify/delete helper and the
#     test data; the job needs no MongoDB Database Tools);
#   - FerretDB v1.24.2 (MongoDB-wire server, SQLite backend), built from the Go module proxy.
# Binaries go to $IPO_TOOLS/bin with a version stamp; a second run skips all of it.
# The Debian ssh service is never started here (ipo_apt_install starts no services).

IPO_MONGO_FERRETDB_VERSION=v1.24.2

# ipo_mongo_go: make sure `go` is on PATH (Go lives in /usr/local/go on these machines).
ipo_mongo_go() {
  command -v go >/dev/null 2>&1 && return 0
  [[ -x /usr/local/go/bin/go ]] && PATH=/usr/local/go/bin:$PATH && return 0
  ipo_die "mongo: Go toolchain not found (expected /usr/local/go/bin/go)"
}

# ipo_mongo_stamped BIN VERSION: 0 when $IPO_TOOLS/bin/BIN is there at VERSION.
ipo_mongo_stamped() {
  local stamp="$IPO_TOOLS/bin/.$1.version"
  [[ -x $IPO_TOOLS/bin/$1 && -f $stamp && $(<"$stamp") == "$2" ]]
}

# ipo_mongo_build_ferretdb: FerretDB needs build/version/version.txt embedded, which the
# read-only module cache lacks, so build from a writable copy of the module.
ipo_mongo_build_ferretdb() {
  local v=$IPO_MONGO_FERRETDB_VERSION dir tmp
  ipo_mongo_stamped ferretdb "$v" && return 0
  ipo_info "mongo: building ferretdb $v"
  dir=$(go mod download -json "github.com/FerretDB/FerretDB@$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $dir ]] || ipo_die "mongo: go mod download of FerretDB $v gave no directory"
  tmp=$(mktemp -d)
  cp -r "$dir/." "$tmp"
  chmod -R u+w "$tmp"
  echo "$v" >"$tmp/build/version/version.txt"
  mkdir -p "$IPO_TOOLS/bin"
  (cd "$tmp" && go build -trimpath -o "$IPO_TOOLS/bin/ferretdb" ./cmd/ferretdb) || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
  printf '%s' "$v" >"$IPO_TOOLS/bin/.ferretdb.version"
}

ipo_bootstrap_mongo() {
  ipo_apt_install openssh-server openssh-client curl util-linux tzdata python3 python3-venv bc
  ipo_pip_install pymongo==4.20.0
  ipo_mongo_go
  ipo_mongo_build_ferretdb
}
