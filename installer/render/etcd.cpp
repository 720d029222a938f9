// etcd: the environment file (member and cluster settings) and the unit (TLS flags only).
#include "render/components.hpp"

namespace installer::render {

namespace {

std::string peer_url(const std::string& address) {
  return "https://" + address + ":" + std::to_string(k_etcd_peer_port);
}
std::string client_url(const std::string& address) {
  return "https://" + address + ":" + std::to_string(k_etcd_client_port);
}

}  // namespace

RenderedFile render_etcd_env(const RenderInput& in) {
  const Host& host = *in.host;
  std::string cluster;
  for (const Host* member : etcd_members(*in.inventory)) {
    cluster += (cluster.empty() ? "" : ",") + member->name + "=" + peer_url(member->address);
  }
  std::string out = "# etcd member " + host.name + " (etcd " + in.versions.etcd.text +
                    ").\n"
                    "# Written by kubeferry-install; changes are overwritten. Each setting lives either here or\n"
                    "# as a flag in etcd.service, never both: etcd >= 3.4 refuses a setting given twice.\n"
                    "#[Member]\n";
  out += "ETCD_NAME=\"" + host.name + "\"\n";
  out += "ETCD_DATA_DIR=\"" + in.paths.etcd_data_dir + "\"\n";
  out += "ETCD_LISTEN_PEER_URLS=\"" + peer_url(host.address) + "\"\n";
  out += "ETCD_LISTEN_CLIENT_URLS=\"" + client_url(host.address) + "\"\n";
  out += "#[Clustering]\n";
  out += "ETCD_INITIAL_ADVERTISE_PEER_URLS=\"" + peer_url(host.address) + "\"\n";
  out += "ETCD_ADVERTISE_CLIENT_URLS=\"" + client_url(host.address) + "\"\n";
  out += "ETCD_INITIAL_CLUSTER=\"" + cluster + "\"\n";
  out += "ETCD_INITIAL_CLUSTER_TOKEN=\"etcd-" + in.inventory->cluster_name + "\"\n";
  out += "ETCD_INITIAL_CLUSTER_STATE=\"new\"\n";
  return {in.paths.etcd_cfg("etcd.conf"), out, 0644, false};
}

Flags etcd_flags(const RenderInput& in) {
  const Paths& p = in.paths;
  return {
      {"--cert-file", p.etcd_ssl("server.pem")},
      {"--key-file", p.etcd_ssl("server-key.pem")},
      {"--peer-cert-file", p.etcd_ssl("server.pem")},
      {"--peer-key-file", p.etcd_ssl("server-key.pem")},
      {"--trusted-ca-file", p.etcd_ssl("ca.pem")},
      {"--peer-trusted-ca-file", p.etcd_ssl("ca.pem")},
      {"--client-cert-auth", ""},
      {"--peer-client-cert-auth", ""},
      {"--logger", "zap"},
  };
}

RenderedFile render_etcd_unit(const RenderInput& in) {
  UnitSpec spec;
  spec.description = "Etcd Server";
  spec.documentation = "https://github.com/etcd-io/etcd";
  spec.after = {"network.target", "network-online.target"};
  spec.wants = {"network-online.target"};
  spec.type = "notify";
  spec.environment_file = in.paths.etcd_cfg("etcd.conf");
  spec.exec_start = {in.paths.etcd_bin("etcd")};
  for (const std::string& word : flag_words(etcd_flags(in))) spec.exec_start.push_back(word);
  return {in.paths.unit("etcd.service"), render_unit(spec), 0644, false};
}

}  // namespace installer::render
