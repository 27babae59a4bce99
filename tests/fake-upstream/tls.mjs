// A throw-away PKI made with the openssl CLI at test time: one CA, a server certificate valid
// for localhost and 127.0.0.1, and one for a wrong host name, both signed by that CA (so a
// refusal can only come from the host name check). Keys are EC P-256; validity two days.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function openssl(args, cwd) {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const detail = err.stderr ? err.stderr.toString() : err.message;
    throw new Error(`openssl ${args[0]} failed: ${detail}`);
  }
}

function leaf(dir, name, altNames) {
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`,
      '-out', `${name}.csr`, '-subj', `/CN=${altNames[0].replace(/^\w+:/, '')}`],
    dir,
  );
  writeFileSync(
    path.join(dir, `${name}.ext`),
    `subjectAltName=${altNames.join(',')}\nbasicConstraints=CA:FALSE\n` +
      'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.crt`, '-days', '2', '-sha256', '-extfile', `${name}.ext`],
    dir,
  );
  return {
    key: readFileSync(path.join(dir, `${name}.key`)),
    cert: readFileSync(path.join(dir, `${name}.crt`)),
  };
}

// -> {dir, caFile, ca, good: {key, cert, hostname}, wrong: {key, cert, hostname}, cleanup()}
export function makeTestPki() {
  const dir = mkdtempSync(path.join(tmpdir(), 'zproxy-pki-'));
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-sha256', '-subj', '/CN=z-ai-proxy test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  const good = { ...leaf(dir, 'localhost', ['DNS:localhost', 'IP:127.0.0.1']), hostname: 'localhost' };
  const wrong = { ...leaf(dir, 'wrong', ['DNS:wrong-host.invalid']), hostname: 'localhost' };
  const caFile = path.join(dir, 'ca.crt');
  return {
    dir,
    caFile,
    ca: readFileSync(caFile),
    good,
    wrong,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
