// `ipo-netctl render ...`; see render_cmd.h.
#include "cli/render_cmd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

#include "render/nginx_render.h"
#include "render/nginx_spec.h"

namespace ipo::cli {
namespace {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read spec " + path + ": " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return Status::Unavailable("cannot read spec " + path + ": read error");
  return s.str();
}

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& data) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmpl = dir + "/." + base + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = mkstemp(name.data());
  if (fd < 0) return Status::Unavailable(Errno("cannot create a temp file in", dir));
  std::string tmp(name.data());
  auto fail = [&](const std::string& msg) {
    close(fd);
    unlink(tmp.c_str());
    return Status::Unavailable(msg);
  };
  if (fchmod(fd, 0644) != 0) return fail(Errno("cannot chmod", tmp));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Errno("cannot write", tmp));
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return fail(Errno("cannot fsync", tmp));
  if (close(fd) != 0) {
    unlink(tmp.c_str());
    return Status::Unavailable(Errno("cannot close", tmp));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    std::string msg = Errno("cannot rename " + tmp + " to", path);
    unlink(tmp.c_str());
    return Status::Unavailable(msg);
  }
  return Status::Ok();
}

Status RunRenderNginx(const std::string& spec_path, const std::string& out_path,
                      const std::string& target_name) {
  Result<render::NginxTarget> target = render::NginxTargetByName(target_name);
  if (!target.ok()) return target.status();
  Result<std::string> text = ReadFile(spec_path);
  if (!text.ok()) return text.status();
  Result<render::NginxSpec> spec = render::ParseNginxSpec(*text, spec_path);
  if (!spec.ok()) return spec.status();
  Result<std::string> conf = render::RenderNginx(*spec, *target);
  if (!conf.ok()) return conf.status().WithContext(spec_path);
  if (out_path.empty() || out_path == "-") {
    std::cout << *conf << std::flush;
    if (!std::cout) return Status::Unavailable("cannot write to stdout");
    return Status::Ok();
  }
  return WriteFileAtomically(out_path, *conf);
}

void RegisterRenderCommand(CLI::App& app) {
  CLI::App* render = app.add_subcommand("render", "Render configuration files from their specs");
  render->require_subcommand(1);

  struct Options {
    std::string spec = kDefaultNginxSpec;
    std::string out;
    std::string target = "debian12";
  };
  auto opts = std::make_shared<Options>();
  CLI::App* nginx = render->add_subcommand(
      "nginx", "Render the nginx configuration of the ipo.com site (HTTPS, HTTP/2, bot proxy, "
               "php-fpm API with rate limit, static files)");
  nginx->add_option("--spec", opts->spec, "Spec file (JSON), e.g. rules/nginx/ipo.com.json")
      ->capture_default_str();
  nginx->add_option("--out", opts->out, "Output file, replaced atomically (default: stdout)");
  nginx->add_option("--target", opts->target, "Target platform: its nginx version decides the syntax")
      ->check(CLI::IsMember({"debian12", "rocky8"}))
      ->capture_default_str();
  nginx->callback([opts] {
    Status s = RunRenderNginx(opts->spec, opts->out, opts->target);
    if (!s.ok()) {
      std::cerr << "ipo-netctl render nginx: " << s.message() << "\n";
      throw CLI::RuntimeError(1);
    }
  });
}

}  // namespace ipo::cli
