// nginx configurations: the canned fake upstream (answers fixed bytes from bench/upstream/)
// and the bare proxy hop in front of it. Both run in the foreground with a private prefix
// under the run folder; nothing touches /etc/nginx or /var.

import fs from 'node:fs';
import path from 'node:path';

const BENCH = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

// Quotes `text` for an nginx config string. `$` would start a variable: refused.
function quote(text) {
  if (text.includes('$')) throw new Error('canned bodies must not contain "$"');
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\r/g, '\\r').replace(/\n/g, '\\n')}'`;
}

export function cannedBodies() {
  const read = (f) => fs.readFileSync(path.join(BENCH, 'upstream', f), 'utf8');
  return { guestSse: read('guest.sse'), apiSse: read('api.sse'), apiJson: read('api.json'), auth: read('auth.json') };
}

function common(prefix, workerConnections) {
  for (const d of ['tmp', 'logs']) fs.mkdirSync(path.join(prefix, d), { recursive: true });
  const tmp = path.join(prefix, 'tmp');
  return [`worker_processes 1;
daemon off;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'logs', 'error.log')} warn;
worker_rlimit_nofile 65536;
${process.getuid?.() === 0 ? 'user root root;' : ''}
events { worker_connections ${workerConnections}; use epoll; multi_accept on; }
`, `  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server_tokens off;
`];
}

// Routes: GET /api/v1/auths/ (guest token), POST /api/chat/completions (guest SSE),
// /n/api/paas/v4/chat/completions (API JSON), /s/api/paas/v4/chat/completions (API SSE),
// /api/paas/v4/chat/completions (SSE when the client accepts text/event-stream, else JSON).
// `tls` ({port, cert, key}): the same routes over TLS on a second port.
export function upstreamConf(prefix, port, tls = null) {
  const b = cannedBodies();
  const [top, httpCommon] = common(prefix, 32768);
  const sse = `default_type text/event-stream; add_header Cache-Control no-cache;`;
  const json = `default_type application/json;`;
  return `${top}
http {
${httpCommon}  access_log off;
  server {
    listen 127.0.0.1:${port} backlog=4096;
${tls ? `    listen 127.0.0.1:${tls.port} ssl backlog=4096;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    ssl_protocols TLSv1.3;
` : ''}    location = /api/v1/auths/ { ${json} return 200 ${quote(b.auth)}; }
    location = /api/chat/completions { ${sse} return 200 ${quote(b.guestSse)}; }
    location = /n/api/paas/v4/chat/completions { ${json} return 200 ${quote(b.apiJson)}; }
    location = /s/api/paas/v4/chat/completions { ${sse} return 200 ${quote(b.apiSse)}; }
    location = /api/paas/v4/chat/completions {
      if ($http_accept ~* event-stream) { rewrite ^ /s/api/paas/v4/chat/completions last; }
      rewrite ^ /n/api/paas/v4/chat/completions last;
    }
    location / { return 404; }
  }
}
`;
}

// The hop: keep-alive pool to the upstream, no buffering (SSE passes through as it comes),
// HTTP/1.1 upstream, a buffered access log as a production hop would keep. `tls`: the
// upstream speaks TLS (sessions reused; not verified: the certificate is checked once per
// connection, which keep-alive makes rare).
export function hopConf(prefix, port, upstreamPort, tls = false) {
  const [top, httpCommon] = common(prefix, 32768);
  return `${top}
http {
${httpCommon}  access_log ${path.join(prefix, 'logs', 'access.log')} combined buffer=64k flush=1s;
  upstream fake { server 127.0.0.1:${upstreamPort}; keepalive 1024; keepalive_requests 10000000; keepalive_timeout 300s; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass ${tls ? 'https' : 'http'}://fake;
${tls ? '      proxy_ssl_session_reuse on;\n      proxy_ssl_protocols TLSv1.2 TLSv1.3;\n' : ''}
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
`;
}

export function writeConf(prefix, text) {
  fs.mkdirSync(prefix, { recursive: true });
  const file = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(file, text);
  return file;
}

// argv to run nginx in the foreground with this prefix and config.
export function nginxArgv(prefix, conf) {
  return ['nginx', '-p', prefix, '-e', path.join(prefix, 'logs', 'error.log'), '-c', conf];
}
