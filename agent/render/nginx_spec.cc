// Strict JSON -> NginxSpec parser over common/json_reader.h; see nginx_spec.h.
#include "render/nginx_spec.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "common/json_reader.h"

namespace ipo::render {
namespace {

// True when `s` can stand unquoted inside an nginx directive.
bool IsSafeToken(std::string_view s) {
  if (s.empty()) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == ';' || c == '{' || c == '}' || c == '"' || c == '\'' ||
           c == '\\' || c == '$' || c == '#';
  });
}

// The string `v` when it is an absolute path that is safe in a directive.
std::string CheckedPath(const JsonValue& v) {
  std::string s = v.String();
  if (s.empty() || s[0] != '/' || !IsSafeToken(s) || s.find("/../") != std::string::npos) {
    v.Fail("must be an absolute path without spaces, quotes, '$', ';', '#' or braces, got \"" + s + "\"");
  }
  return s;
}

// obj.key, required, as CheckedPath.
std::string PathAt(const JsonValue& obj, std::string_view key) { return CheckedPath(obj.Get(key)); }

std::string HostNameAt(const JsonValue& obj, std::string_view key) {
  JsonValue v = obj.Get(key);
  std::string s = v.String();
  bool ok = !s.empty() && s.size() <= 253 && s.front() != '.' && s.back() != '.' &&
            std::all_of(s.begin(), s.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
            });
  if (!ok) v.Fail("must be a lower-case host name like \"ipo.com\", got \"" + s + "\"");
  return s;
}

// obj.key, required: a non-empty list of strings, each accepted by `valid` (else `invalid`,
// which ends "(...)" or is empty, words the error).
template <typename Valid>
std::vector<std::string> StringListAt(const JsonValue& obj, std::string_view key, Valid valid,
                                      const std::string& invalid) {
  JsonValue v = obj.Get(key);
  std::vector<std::string> out;
  if (!v.is_array() || v.empty()) v.Fail("must be a non-empty list of strings");
  for (size_t i = 0; i < v.size(); ++i) {
    JsonValue e = v.At(i);
    if (!e.is_string()) v.Fail("must be a non-empty list of strings");
    out.push_back(e.String());
  }
  for (const std::string& s : out) {
    if (!valid(s)) v.Fail("has an invalid entry \"" + s + "\"" + invalid);
  }
  return out;
}

// obj.key as an integer in [min, max] into *out; *out unchanged when the key is absent.
template <typename Int>
void IntAt(const JsonValue& obj, std::string_view key, int64_t min, int64_t max, Int* out) {
  if (std::optional<JsonValue> v = obj.Find(key)) *out = static_cast<Int>(v->Int(min, max));
}

NginxSpec::Listen ParseListen(const JsonValue& o) {
  NginxSpec::Listen l;
  l.http_port = static_cast<int>(o.Get("http_port").Int(1, 65535));
  JsonValue https = o.Get("https_port");
  l.https_port = static_cast<int>(https.Int(1, 65535));
  l.ipv6 = o.BoolOr("ipv6", l.ipv6);
  if (l.http_port == l.https_port) https.Fail("must differ from listen.http_port");
  o.OnlyKeys({"http_port", "https_port", "ipv6"});
  return l;
}

NginxSpec::Stapling ParseStapling(const JsonValue& o) {
  NginxSpec::Stapling s;
  s.trusted_certificate = PathAt(o, "trusted_certificate");
  s.resolvers = StringListAt(o, "resolvers", IsSafeToken, "");
  o.OnlyKeys({"trusted_certificate", "resolvers"});
  return s;
}

NginxSpec::Tls ParseTls(const JsonValue& o) {
  NginxSpec::Tls t;
  t.certificate = PathAt(o, "certificate");
  t.certificate_key = PathAt(o, "certificate_key");
  IntAt(o, "hsts_max_age", 0, int64_t{1} << 40, &t.hsts_max_age);
  if (std::optional<JsonValue> s = o.Find("ocsp_stapling")) t.ocsp_stapling = ParseStapling(*s);
  o.OnlyKeys({"certificate", "certificate_key", "hsts_max_age", "ocsp_stapling"});
  return t;
}

NginxSpec::Bot ParseBot(const JsonValue& o) {
  NginxSpec::Bot b;
  auto keyword = [](const std::string& k) {
    return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
      auto u = static_cast<unsigned char>(c);
      return u >= 0x20 && u < 0x7f && c != '"' && c != '\\' && c != '$';
    });
  };
  b.user_agent_keywords =
      StringListAt(o, "user_agent_keywords", keyword, " (printable ASCII without '\"', '\\' or '$')");
  b.server = HostNameAt(o, "server");
  IntAt(o, "port", 1, 65535, &b.port);
  if (std::optional<JsonValue> scheme = o.Find("scheme")) {
    b.scheme = scheme->String();
    if (b.scheme != "http" && b.scheme != "https") scheme->Fail("must be \"http\" or \"https\", got \"" + b.scheme + "\"");
  }
  o.OnlyKeys({"user_agent_keywords", "server", "port", "scheme"});
  return b;
}

// api.php_fpm_socket: one path for every target, or an object from target name to path.
std::map<std::string, std::string> ParseSockets(const JsonValue& v) {
  std::map<std::string, std::string> out;
  if (v.is_string()) {
    out["*"] = CheckedPath(v);
  } else if (v.is_object() && !v.empty()) {
    std::vector<JsonValue> paths;  // checked once all are known strings, as the map orders them
    v.ForEachMember([&](const std::string& target, const JsonValue& path) {
      if (std::find(std::begin(kTargetNames), std::end(kTargetNames), target) == std::end(kTargetNames)) {
        v.OnlyKeys(kTargetNames);  // fails, naming `target`
      }
      out[target] = path.String();
      paths.push_back(path);
    });
    for (const JsonValue& path : paths) CheckedPath(path);
  } else {
    v.Fail("must be a path or an object mapping target names to paths");
  }
  return out;
}

NginxSpec::Api ParseApi(const JsonValue& o) {
  NginxSpec::Api a;
  a.root = PathAt(o, "root");
  a.php_fpm_socket = ParseSockets(o.Get("php_fpm_socket"));
  JsonValue rate = o.Get("rate_per_second");
  a.rate_per_second = rate.Number();
  double per_minute = a.rate_per_second * 60.0;
  if (!(a.rate_per_second > 0) || std::fabs(per_minute - std::round(per_minute)) > 1e-9 || per_minute > 6e6) {
    rate.Fail("must be a positive number of requests per second that is a whole number per minute (nginx takes an "
              "integer rate in r/s or r/m), got " + rate.Dump());
  }
  IntAt(o, "burst", 0, 100000, &a.burst);
  IntAt(o, "zone_megabytes", 1, 1024, &a.zone_megabytes);
  o.OnlyKeys({"root", "php_fpm_socket", "rate_per_second", "burst", "zone_megabytes"});
  return a;
}

NginxSpec::Static ParseStatic(const JsonValue& o) {
  NginxSpec::Static st;
  st.root = PathAt(o, "root");
  IntAt(o, "max_age", 0, int64_t{1} << 40, &st.max_age);
  IntAt(o, "immutable_max_age", 0, int64_t{1} << 40, &st.immutable_max_age);
  o.OnlyKeys({"root", "max_age", "immutable_max_age"});
  return st;
}

NginxSpec::OpenFileCache ParseOpenFileCache(const JsonValue& o) {
  NginxSpec::OpenFileCache c;
  IntAt(o, "max", 1, 10000000, &c.max);
  IntAt(o, "inactive_seconds", 1, 86400, &c.inactive_seconds);
  IntAt(o, "valid_seconds", 1, 86400, &c.valid_seconds);
  o.OnlyKeys({"max", "inactive_seconds", "valid_seconds"});
  return c;
}

NginxSpec::Site ParseSite(const JsonValue& o) {
  NginxSpec::Site si;
  si.root = PathAt(o, "root");
  auto relative = [](const std::string& f) {
    return !f.empty() && f[0] != '/' && IsSafeToken(f) && f.find("..") == std::string::npos;
  };
  si.index_files = StringListAt(o, "index_files", relative, " (a relative path below site.root)");
  si.fallback = PathAt(o, "fallback");
  o.OnlyKeys({"root", "index_files", "fallback"});
  return si;
}

NginxSpec::Logs ParseLogs(const JsonValue& o) {
  NginxSpec::Logs l{PathAt(o, "access_log"), PathAt(o, "error_log")};
  o.OnlyKeys({"access_log", "error_log"});
  return l;
}

NginxSpec Build(const JsonValue& root) {
  if (!root.is_object()) root.Fail("the spec must be a JSON object");
  NginxSpec spec;
  spec.version = static_cast<int>(root.Get("version").Int(1, 1));
  spec.domain = HostNameAt(root, "domain");
  spec.listen = ParseListen(root.Get("listen"));
  spec.tls = ParseTls(root.Get("tls"));
  spec.bot = ParseBot(root.Get("bot"));
  spec.api = ParseApi(root.Get("api"));
  spec.static_files = ParseStatic(root.Get("static"));
  if (std::optional<JsonValue> c = root.Find("open_file_cache")) spec.open_file_cache = ParseOpenFileCache(*c);
  spec.site = ParseSite(root.Get("site"));
  spec.logs = ParseLogs(root.Get("logs"));
  root.OnlyKeys({"version", "domain", "listen", "tls", "bot", "api", "static", "open_file_cache", "site", "logs"});
  return spec;
}

}  // namespace

Result<NginxSpec> ParseNginxSpec(std::string_view json_text, const std::string& source) {
  JsonReadOptions options;
  options.style = JsonPathStyle::kQuotedKey;
  return ReadJsonAs<NginxSpec>(json_text, source, options, Build);
}

}  // namespace ipo::render
