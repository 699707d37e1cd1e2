// Tests of ParseNginxSpec: the default spec parses; every kind of bad spec is refused with
// a message naming the key (or line/column) at fault.
#include "render/nginx_spec.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace ipo::render {
namespace {

using json = nlohmann::json;

json ValidSpec() {
  return json::parse(R"({
    "version": 1,
    "domain": "ipo.com",
    "listen": {"http_port": 80, "https_port": 443, "ipv6": true},
    "tls": {"certificate": "/etc/ssl/ipo/c.pem", "certificate_key": "/etc/ssl/ipo/k.pem"},
    "bot": {"user_agent_keywords": ["Google Bot", "Googlebot"], "server": "bot.ipo.com"},
    "api": {"root": "/www", "php_fpm_socket": {"debian12": "/run/php/php8.2-fpm.sock",
            "rocky8": "/run/php-fpm/www.sock"}, "rate_per_second": 1.5},
    "static": {"root": "/www/ipo"},
    "site": {"root": "/www/ipo", "index_files": ["index.html", "public/index.html"],
             "fallback": "/api/request"},
    "logs": {"access_log": "/var/log/nginx/a.log", "error_log": "/var/log/nginx/e.log"}
  })");
}

std::string ErrorOf(const json& j) {
  Result<NginxSpec> r = ParseNginxSpec(j.dump(2), "spec.json");
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

TEST_CASE("a valid spec parses with defaults filled in", "[render]") {
  Result<NginxSpec> r = ParseNginxSpec(ValidSpec().dump(), "spec.json");
  REQUIRE(r.ok());
  CHECK(r->domain == "ipo.com");
  CHECK(r->api.rate_per_second == 1.5);
  CHECK(r->api.burst == 0);
  CHECK(r->api.php_fpm_socket.at("rocky8") == "/run/php-fpm/www.sock");
  CHECK(r->bot.port == 80);
  CHECK(r->bot.scheme == "http");
  CHECK(r->tls.hsts_max_age == 63072000);
  CHECK_FALSE(r->tls.ocsp_stapling.has_value());
  CHECK(r->open_file_cache.valid_seconds == 60);
  CHECK(r->site.index_files.size() == 2);
}

TEST_CASE("a php-fpm socket given as one path applies to every target", "[render]") {
  json j = ValidSpec();
  j["api"]["php_fpm_socket"] = "/run/php.sock";
  Result<NginxSpec> r = ParseNginxSpec(j.dump(), "spec.json");
  REQUIRE(r.ok());
  CHECK(r->api.php_fpm_socket.at("*") == "/run/php.sock");
}

TEST_CASE("JSON syntax errors carry line and column", "[render]") {
  Result<NginxSpec> r = ParseNginxSpec("{\n  \"version\": 1,\n  \"domain\" \"ipo.com\"\n}\n", "ipo.com.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().rfind("ipo.com.json:3:", 0) == 0);
  CHECK(r.status().message().find("invalid JSON: syntax error") != std::string::npos);
}

TEST_CASE("a number beyond a double is an error, not an exception", "[render]") {
  Result<NginxSpec> r = ParseNginxSpec("{\"version\": 1e400}", "ipo.com.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "ipo.com.json: invalid JSON: a number is out of range");
}

TEST_CASE("bad specs name the key at fault", "[render]") {
  json j = ValidSpec();
  SECTION("unknown top-level key") {
    j["domian"] = "x";
    CHECK(ErrorOf(j) == "spec.json:18: unknown key \"domian\" (expected one of: api, bot, domain, listen, logs, "
                        "open_file_cache, site, static, tls, version)");
  }
  SECTION("unknown nested key") {
    j["tls"]["certficate"] = "/x";
    CHECK(ErrorOf(j) == "spec.json:39: unknown key \"tls.certficate\" (expected one of: certificate, "
                        "certificate_key, hsts_max_age, ocsp_stapling)");
  }
  SECTION("unknown target in the socket map") {
    j["api"]["php_fpm_socket"]["centos7"] = "/x.sock";
    CHECK(ErrorOf(j) ==
          "spec.json:4: unknown key \"api.php_fpm_socket.centos7\" (expected one of: debian12, rocky8)");
  }
  SECTION("missing key") {
    j["tls"].erase("certificate");
    CHECK(ErrorOf(j) == "spec.json:38: missing key \"tls.certificate\"");
  }
  SECTION("wrong type") {
    j["api"]["burst"] = "5";
    CHECK(ErrorOf(j) == "spec.json:3: key \"api.burst\" must be an integer, got string");
  }
  SECTION("port out of range") {
    j["listen"]["https_port"] = 70000;
    CHECK(ErrorOf(j) == "spec.json:20: key \"listen.https_port\" must be between 1 and 65535, got 70000");
  }
  SECTION("same port twice") {
    j["listen"]["https_port"] = 80;
    CHECK(ErrorOf(j) == "spec.json:20: key \"listen.https_port\" must differ from listen.http_port");
  }
  SECTION("a rate nginx cannot express") {
    j["api"]["rate_per_second"] = 1.51;
    CHECK(ErrorOf(j).rfind("spec.json:7: key \"api.rate_per_second\" must be a positive number of "
                           "requests per second that is a whole number per minute", 0) == 0);
  }
  SECTION("zero rate") {
    j["api"]["rate_per_second"] = 0;
    CHECK(ErrorOf(j).rfind("spec.json:7: key \"api.rate_per_second\" must be a positive", 0) == 0);
  }
  SECTION("a path that would break out of the directive") {
    j["site"]["root"] = "/www/ipo; return 200";
    CHECK(ErrorOf(j) ==
          "spec.json:33: key \"site.root\" must be an absolute path without spaces, quotes, '$', ';', "
          "'#' or braces, got \"/www/ipo; return 200\"");
  }
  SECTION("relative path") {
    j["tls"]["certificate_key"] = "k.pem";
    CHECK(ErrorOf(j).rfind("spec.json:40: key \"tls.certificate_key\" must be an absolute path", 0) == 0);
  }
  SECTION("bad host name") {
    j["bot"]["server"] = "Bot.ipo.com";
    CHECK(ErrorOf(j) ==
          "spec.json:11: key \"bot.server\" must be a lower-case host name like \"ipo.com\", got \"Bot.ipo.com\"");
  }
  SECTION("bad scheme") {
    j["bot"]["scheme"] = "ftp";
    CHECK(ErrorOf(j) == "spec.json:11: key \"bot.scheme\" must be \"http\" or \"https\", got \"ftp\"");
  }
  SECTION("keyword with a quote") {
    j["bot"]["user_agent_keywords"] = {"Google\"Bot"};
    CHECK(ErrorOf(j).rfind("spec.json:12: key \"bot.user_agent_keywords\" has an invalid entry", 0) == 0);
  }
  SECTION("empty keyword list") {
    j["bot"]["user_agent_keywords"] = json::array();
    CHECK(ErrorOf(j) == "spec.json:12: key \"bot.user_agent_keywords\" must be a non-empty list of strings");
  }
  SECTION("index file escaping the root") {
    j["site"]["index_files"] = {"../etc/passwd"};
    CHECK(ErrorOf(j) == "spec.json:29: key \"site.index_files\" has an invalid entry \"../etc/passwd\" "
                        "(a relative path below site.root)");
  }
  SECTION("unsupported version") {
    j["version"] = 2;
    CHECK(ErrorOf(j) == "spec.json:42: key \"version\" must be between 1 and 1, got 2");
  }
  SECTION("object expected") {
    j["tls"] = "x";
    CHECK(ErrorOf(j) == "spec.json:38: key \"tls\" must be an object, got string");
  }
  SECTION("stapling without resolvers") {
    j["tls"]["ocsp_stapling"] = {{"trusted_certificate", "/etc/ssl/ipo/chain.pem"}};
    CHECK(ErrorOf(j) == "spec.json:41: missing key \"tls.ocsp_stapling.resolvers\"");
  }
}

TEST_CASE("a spec beyond the size bounds is refused before it is parsed", "[render]") {
  Result<NginxSpec> deep = ParseNginxSpec("{\"version\":\n" + std::string(100, '['), "spec.json");
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.status().message() == "spec.json:2: nesting deeper than 64 levels");
  json j = ValidSpec();
  j["site"]["fallback"] = "/" + std::string(5000, 'a');
  CHECK(ErrorOf(j) == "spec.json:28: a string longer than 4096 bytes");
}

TEST_CASE("a spec that is not an object is refused", "[render]") {
  Result<NginxSpec> r = ParseNginxSpec("[1, 2]", "spec.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "spec.json:1: the spec must be a JSON object");
}

}  // namespace
}  // namespace ipo::render
