// Tests of RenderNginx: golden comparison of the default spec with the committed
// renderings, and the version- and spec-dependent parts.
#include "render/nginx_render.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>

namespace ipo::render {
namespace {

std::string ReadSource(const std::string& rel) {
  std::ifstream in(std::string(IPO_SOURCE_DIR) + "/" + rel, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

NginxSpec DefaultSpec() {
  Result<NginxSpec> r = ParseNginxSpec(ReadSource("rules/nginx/ipo.com.json"), "ipo.com.json");
  REQUIRE(r.ok());
  return *r;
}

std::string Render(const NginxSpec& spec, const std::string& target) {
  Result<NginxTarget> t = NginxTargetByName(target);
  REQUIRE(t.ok());
  Result<std::string> out = RenderNginx(spec, *t);
  REQUIRE(out.ok());
  return *out;
}

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// Checks that `text` contains each of `lines`.
void CheckHasAll(const std::string& text, std::initializer_list<std::string> lines) {
  for (const std::string& line : lines) {
    INFO("expected: " << line);
    CHECK(Has(text, line));
  }
}

TEST_CASE("golden: the default spec renders to the committed files", "[render]") {
  NginxSpec spec = DefaultSpec();
  CHECK(Render(spec, "debian12") == ReadSource("rules/nginx/ipo.com.debian12.conf"));
  CHECK(Render(spec, "rocky8") == ReadSource("rules/nginx/ipo.com.rocky8.conf"));
}

TEST_CASE("the requirements of question 2 are in the debian12 rendering", "[render]") {
  std::string c = Render(DefaultSpec(), "debian12");
  CheckHasAll(c, {"limit_req_zone $binary_remote_addr zone=ipo_api:10m rate=90r/m;",
                  "limit_req_status 429;",
                  "\"~*google bot\" 1;",
                  "\"~*googlebot\" 1;",
                  "server bot.ipo.com:80;",
                  "return 301 https://ipo.com$request_uri;",
                  "listen 443 ssl http2;",
                  "ssl_reject_handshake on;",
                  "fastcgi_pass unix:/run/php/php8.2-fpm.sock;",
                  "try_files $uri /index.html /public/index.html /api/request;",
                  "gzip_static on;"});
  CHECK_FALSE(Has(c, "http2 on;"));
  CHECK_FALSE(Has(c, "ssl_stapling"));
}

TEST_CASE("rocky8: its php-fpm socket, no ssl_reject_handshake", "[render]") {
  std::string c = Render(DefaultSpec(), "rocky8");
  CHECK(Has(c, "fastcgi_pass unix:/run/php-fpm/www.sock;"));
  CHECK(Has(c, "listen 443 ssl http2 default_server;"));
  CHECK_FALSE(Has(c, "ssl_reject_handshake on;"));
  CHECK(Has(c, "# Install as /etc/nginx/conf.d/ipo.com.conf"));
}

TEST_CASE("nginx >= 1.25.1 gets `http2 on;` instead of the listen parameter", "[render]") {
  NginxTarget t{"debian12", "test", 1, 25, 1, "/x"};
  Result<std::string> c = RenderNginx(DefaultSpec(), t);
  REQUIRE(c.ok());
  CHECK(Has(*c, "listen 443 ssl;"));
  CHECK(Has(*c, "http2 on;"));
  CHECK_FALSE(Has(*c, "ssl http2"));
}

TEST_CASE("spec values reach the output", "[render]") {
  NginxSpec spec = DefaultSpec();
  spec.api.rate_per_second = 2;
  spec.api.burst = 5;
  spec.listen.https_port = 8443;
  spec.listen.ipv6 = false;
  spec.bot.user_agent_keywords = {"Yandex.Bot"};
  spec.tls.ocsp_stapling = NginxSpec::Stapling{"/etc/ssl/ipo/chain.pem", {"127.0.0.53"}};
  std::string c = Render(spec, "debian12");
  CheckHasAll(c, {"rate=2r/s;",
                  "limit_req zone=ipo_api burst=5 nodelay;",
                  "return 301 https://ipo.com:8443$request_uri;"});
  CHECK_FALSE(Has(c, "[::]"));
  CheckHasAll(c, {"\"~*yandex\\.bot\" 1;",
                  "ssl_stapling on;",
                  "ssl_trusted_certificate /etc/ssl/ipo/chain.pem;",
                  "resolver 127.0.0.53 valid=300s;"});
}

TEST_CASE("a target without a php-fpm socket is an error naming the key", "[render]") {
  NginxSpec spec = DefaultSpec();
  spec.api.php_fpm_socket.erase("rocky8");
  Result<NginxTarget> t = NginxTargetByName("rocky8");
  REQUIRE(t.ok());
  Result<std::string> c = RenderNginx(spec, *t);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() == "spec key \"api.php_fpm_socket\" has no socket for target \"rocky8\"");
}

TEST_CASE("unknown targets are refused", "[render]") {
  Result<NginxTarget> t = NginxTargetByName("centos7");
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().message() == "unknown target \"centos7\" (known targets: debian12, rocky8)");
}

}  // namespace
}  // namespace ipo::render
