// Strict JSON -> NginxSpec parser; see nginx_spec.h.
#include "render/nginx_spec.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

namespace ipo::render {
namespace {

using json = nlohmann::json;

// Reads one JSON object: remembers which keys were read, so Finish() can reject the rest.
class ObjectReader {
 public:
  ObjectReader(const json& obj, std::string path, const std::string& source)
      : obj_(obj), path_(std::move(path)), source_(source) {}

  std::string KeyPath(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  Status Error(std::string_view key, const std::string& what) const {
    return Status::InvalidArgument(source_ + ": key \"" + KeyPath(key) + "\" " + what);
  }

  // Returns the value of `key`, or nullptr when absent (an error if `required`).
  const json* Get(std::string_view key, bool required, Status* status) {
    seen_.insert(std::string(key));
    auto it = obj_.find(std::string(key));
    if (it == obj_.end()) {
      if (required) {
        *status = Status::InvalidArgument(source_ + ": missing key \"" + KeyPath(key) + "\"");
      }
      return nullptr;
    }
    return &*it;
  }

  Status String(std::string_view key, bool required, std::string* out) {
    Status s;
    const json* v = Get(key, required, &s);
    if (v == nullptr) return s;
    if (!v->is_string()) return Error(key, "must be a string, got " + std::string(v->type_name()));
    *out = v->get<std::string>();
    return Status::Ok();
  }

  Status Int(std::string_view key, bool required, int64_t min, int64_t max, int64_t* out) {
    Status s;
    const json* v = Get(key, required, &s);
    if (v == nullptr) return s;
    if (!v->is_number_integer()) {
      return Error(key, "must be an integer, got " + std::string(v->type_name()));
    }
    int64_t n = v->get<int64_t>();
    if (n < min || n > max) {
      return Error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                            ", got " + std::to_string(n));
    }
    *out = n;
    return Status::Ok();
  }

  Status Int(std::string_view key, bool required, int64_t min, int64_t max, int* out) {
    int64_t v = *out;
    IPO_RETURN_IF_ERROR(Int(key, required, min, max, &v));
    *out = static_cast<int>(v);
    return Status::Ok();
  }

  Status Bool(std::string_view key, bool required, bool* out) {
    Status s;
    const json* v = Get(key, required, &s);
    if (v == nullptr) return s;
    if (!v->is_boolean()) return Error(key, "must be true or false, got " + std::string(v->type_name()));
    *out = v->get<bool>();
    return Status::Ok();
  }

  Status StringList(std::string_view key, bool required, std::vector<std::string>* out) {
    Status s;
    const json* v = Get(key, required, &s);
    if (v == nullptr) return s;
    if (!v->is_array() || v->empty()) return Error(key, "must be a non-empty list of strings");
    out->clear();
    for (const json& e : *v) {
      if (!e.is_string()) return Error(key, "must be a non-empty list of strings");
      out->push_back(e.get<std::string>());
    }
    return Status::Ok();
  }

  // Object-valued key: returns a reader for it (nullopt when absent and not required).
  Status Object(std::string_view key, bool required, std::optional<ObjectReader>* out) {
    Status s;
    const json* v = Get(key, required, &s);
    if (v == nullptr) return s;
    if (!v->is_object()) return Error(key, "must be an object, got " + std::string(v->type_name()));
    out->emplace(*v, KeyPath(key), source_);
    return Status::Ok();
  }

  Status UnknownKey(std::string_view key, const std::string& hint = "") const {
    return Status::InvalidArgument(source_ + ": unknown key \"" + KeyPath(key) + "\"" + hint);
  }

  Status Finish() const {
    for (auto it = obj_.begin(); it != obj_.end(); ++it) {
      if (seen_.count(it.key()) == 0) return UnknownKey(it.key());
    }
    return Status::Ok();
  }

 private:
  const json& obj_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> seen_;
};

// True when `s` can stand unquoted inside an nginx directive.
bool IsSafeToken(std::string_view s) {
  if (s.empty()) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == ';' || c == '{' || c == '}' || c == '"' || c == '\'' ||
           c == '\\' || c == '$' || c == '#';
  });
}

Status CheckPath(const ObjectReader& r, std::string_view key, const std::string& v) {
  if (v.empty() || v[0] != '/' || !IsSafeToken(v) || v.find("/../") != std::string::npos) {
    return r.Error(key, "must be an absolute path without spaces, quotes, '$', ';', '#' or braces, got \"" +
                            v + "\"");
  }
  return Status::Ok();
}

Status CheckHostName(const ObjectReader& r, std::string_view key, const std::string& v) {
  bool ok = !v.empty() && v.size() <= 253 && v.front() != '.' && v.back() != '.' &&
            std::all_of(v.begin(), v.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
            });
  if (!ok) return r.Error(key, "must be a lower-case host name like \"ipo.com\", got \"" + v + "\"");
  return Status::Ok();
}

Status ParseListen(ObjectReader& r, NginxSpec::Listen* l) {
  IPO_RETURN_IF_ERROR(r.Int("http_port", true, 1, 65535, &l->http_port));
  IPO_RETURN_IF_ERROR(r.Int("https_port", true, 1, 65535, &l->https_port));
  IPO_RETURN_IF_ERROR(r.Bool("ipv6", false, &l->ipv6));
  if (l->http_port == l->https_port) return r.Error("https_port", "must differ from listen.http_port");
  return r.Finish();
}

Status ParseTls(ObjectReader& r, NginxSpec::Tls* t) {
  IPO_RETURN_IF_ERROR(r.String("certificate", true, &t->certificate));
  IPO_RETURN_IF_ERROR(CheckPath(r, "certificate", t->certificate));
  IPO_RETURN_IF_ERROR(r.String("certificate_key", true, &t->certificate_key));
  IPO_RETURN_IF_ERROR(CheckPath(r, "certificate_key", t->certificate_key));
  IPO_RETURN_IF_ERROR(r.Int("hsts_max_age", false, 0, int64_t{1} << 40, &t->hsts_max_age));
  std::optional<ObjectReader> o;
  IPO_RETURN_IF_ERROR(r.Object("ocsp_stapling", false, &o));
  if (o) {
    NginxSpec::Stapling s;
    IPO_RETURN_IF_ERROR(o->String("trusted_certificate", true, &s.trusted_certificate));
    IPO_RETURN_IF_ERROR(CheckPath(*o, "trusted_certificate", s.trusted_certificate));
    IPO_RETURN_IF_ERROR(o->StringList("resolvers", true, &s.resolvers));
    for (const std::string& x : s.resolvers) {
      if (!IsSafeToken(x)) return o->Error("resolvers", "has an invalid entry \"" + x + "\"");
    }
    IPO_RETURN_IF_ERROR(o->Finish());
    t->ocsp_stapling = std::move(s);
  }
  return r.Finish();
}

Status ParseBot(ObjectReader& r, NginxSpec::Bot* b) {
  IPO_RETURN_IF_ERROR(r.StringList("user_agent_keywords", true, &b->user_agent_keywords));
  for (const std::string& k : b->user_agent_keywords) {
    bool ok = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
      auto u = static_cast<unsigned char>(c);
      return u >= 0x20 && u < 0x7f && c != '"' && c != '\\' && c != '$';
    });
    if (!ok) {
      return r.Error("user_agent_keywords",
                     "has an invalid entry \"" + k + "\" (printable ASCII without '\"', '\\' or '$')");
    }
  }
  IPO_RETURN_IF_ERROR(r.String("server", true, &b->server));
  IPO_RETURN_IF_ERROR(CheckHostName(r, "server", b->server));
  IPO_RETURN_IF_ERROR(r.Int("port", false, 1, 65535, &b->port));
  IPO_RETURN_IF_ERROR(r.String("scheme", false, &b->scheme));
  if (b->scheme != "http" && b->scheme != "https") {
    return r.Error("scheme", "must be \"http\" or \"https\", got \"" + b->scheme + "\"");
  }
  return r.Finish();
}

Status ParseApi(ObjectReader& r, NginxSpec::Api* a) {
  IPO_RETURN_IF_ERROR(r.String("root", true, &a->root));
  IPO_RETURN_IF_ERROR(CheckPath(r, "root", a->root));
  Status s;
  const json* sock = r.Get("php_fpm_socket", true, &s);
  if (sock == nullptr) return s;
  if (sock->is_string()) {
    a->php_fpm_socket["*"] = sock->get<std::string>();
  } else if (sock->is_object() && !sock->empty()) {
    for (auto it = sock->begin(); it != sock->end(); ++it) {
      const std::string& target = it.key();
      if (std::find(std::begin(kTargetNames), std::end(kTargetNames), target) == std::end(kTargetNames)) {
        return r.UnknownKey("php_fpm_socket." + target, " (targets are debian12, rocky8)");
      }
      if (!it->is_string()) return r.Error("php_fpm_socket." + target, "must be a string");
      a->php_fpm_socket[target] = it->get<std::string>();
    }
  } else {
    return r.Error("php_fpm_socket", "must be a path or an object mapping target names to paths");
  }
  for (const auto& [target, path] : a->php_fpm_socket) {
    IPO_RETURN_IF_ERROR(
        CheckPath(r, target == "*" ? std::string("php_fpm_socket") : "php_fpm_socket." + target, path));
  }

  const json* rate = r.Get("rate_per_second", true, &s);
  if (rate == nullptr) return s;
  if (!rate->is_number()) return r.Error("rate_per_second", "must be a number, got " + std::string(rate->type_name()));
  a->rate_per_second = rate->get<double>();
  double per_minute = a->rate_per_second * 60.0;
  if (!(a->rate_per_second > 0) || std::fabs(per_minute - std::round(per_minute)) > 1e-9 ||
      per_minute > 6e6) {
    return r.Error("rate_per_second",
                   "must be a positive number of requests per second that is a whole number per "
                   "minute (nginx takes an integer rate in r/s or r/m), got " + rate->dump());
  }
  IPO_RETURN_IF_ERROR(r.Int("burst", false, 0, 100000, &a->burst));
  IPO_RETURN_IF_ERROR(r.Int("zone_megabytes", false, 1, 1024, &a->zone_megabytes));
  return r.Finish();
}

Status ParseStatic(ObjectReader& r, NginxSpec::Static* st) {
  IPO_RETURN_IF_ERROR(r.String("root", true, &st->root));
  IPO_RETURN_IF_ERROR(CheckPath(r, "root", st->root));
  IPO_RETURN_IF_ERROR(r.Int("max_age", false, 0, int64_t{1} << 40, &st->max_age));
  IPO_RETURN_IF_ERROR(r.Int("immutable_max_age", false, 0, int64_t{1} << 40, &st->immutable_max_age));
  return r.Finish();
}

Status ParseOpenFileCache(ObjectReader& r, NginxSpec::OpenFileCache* c) {
  IPO_RETURN_IF_ERROR(r.Int("max", false, 1, 10000000, &c->max));
  IPO_RETURN_IF_ERROR(r.Int("inactive_seconds", false, 1, 86400, &c->inactive_seconds));
  IPO_RETURN_IF_ERROR(r.Int("valid_seconds", false, 1, 86400, &c->valid_seconds));
  return r.Finish();
}

Status ParseSite(ObjectReader& r, NginxSpec::Site* si) {
  IPO_RETURN_IF_ERROR(r.String("root", true, &si->root));
  IPO_RETURN_IF_ERROR(CheckPath(r, "root", si->root));
  IPO_RETURN_IF_ERROR(r.StringList("index_files", true, &si->index_files));
  for (const std::string& f : si->index_files) {
    if (f.empty() || f[0] == '/' || !IsSafeToken(f) || f.find("..") != std::string::npos) {
      return r.Error("index_files", "has an invalid entry \"" + f + "\" (a relative path below site.root)");
    }
  }
  IPO_RETURN_IF_ERROR(r.String("fallback", true, &si->fallback));
  IPO_RETURN_IF_ERROR(CheckPath(r, "fallback", si->fallback));
  return r.Finish();
}

Status ParseLogs(ObjectReader& r, NginxSpec::Logs* l) {
  IPO_RETURN_IF_ERROR(r.String("access_log", true, &l->access_log));
  IPO_RETURN_IF_ERROR(CheckPath(r, "access_log", l->access_log));
  IPO_RETURN_IF_ERROR(r.String("error_log", true, &l->error_log));
  IPO_RETURN_IF_ERROR(CheckPath(r, "error_log", l->error_log));
  return r.Finish();
}

// "source:LINE:COL: " for the byte offset of a JSON syntax error.
std::string Position(std::string_view text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col > 1 ? col - 1 : 1);
}

}  // namespace

Result<NginxSpec> ParseNginxSpec(std::string_view json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end());
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..."
    size_t colon = what.find(": ", what.find("column"));
    std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    return Status::InvalidArgument(source + ":" + Position(json_text, e.byte) +
                                   ": invalid JSON: " + detail);
  } catch (const json::out_of_range&) {
    // nlohmann throws out_of_range 406, not parse_error, for a number beyond a double (1e400).
    return Status::InvalidArgument(source + ": invalid JSON: a number is out of range");
  }
  if (!root.is_object()) return Status::InvalidArgument(source + ": the spec must be a JSON object");

  NginxSpec spec;
  ObjectReader r(root, "", source);
  int64_t version = 0;
  IPO_RETURN_IF_ERROR(r.Int("version", true, 1, 1, &version));
  spec.version = static_cast<int>(version);
  IPO_RETURN_IF_ERROR(r.String("domain", true, &spec.domain));
  IPO_RETURN_IF_ERROR(CheckHostName(r, "domain", spec.domain));

  std::optional<ObjectReader> o;
  IPO_RETURN_IF_ERROR(r.Object("listen", true, &o));
  IPO_RETURN_IF_ERROR(ParseListen(*o, &spec.listen));
  IPO_RETURN_IF_ERROR(r.Object("tls", true, &o));
  IPO_RETURN_IF_ERROR(ParseTls(*o, &spec.tls));
  IPO_RETURN_IF_ERROR(r.Object("bot", true, &o));
  IPO_RETURN_IF_ERROR(ParseBot(*o, &spec.bot));
  IPO_RETURN_IF_ERROR(r.Object("api", true, &o));
  IPO_RETURN_IF_ERROR(ParseApi(*o, &spec.api));
  IPO_RETURN_IF_ERROR(r.Object("static", true, &o));
  IPO_RETURN_IF_ERROR(ParseStatic(*o, &spec.static_files));
  o.reset();
  IPO_RETURN_IF_ERROR(r.Object("open_file_cache", false, &o));
  if (o) IPO_RETURN_IF_ERROR(ParseOpenFileCache(*o, &spec.open_file_cache));
  IPO_RETURN_IF_ERROR(r.Object("site", true, &o));
  IPO_RETURN_IF_ERROR(ParseSite(*o, &spec.site));
  IPO_RETURN_IF_ERROR(r.Object("logs", true, &o));
  IPO_RETURN_IF_ERROR(ParseLogs(*o, &spec.logs));
  IPO_RETURN_IF_ERROR(r.Finish());
  return spec;
}

}  // namespace ipo::render
