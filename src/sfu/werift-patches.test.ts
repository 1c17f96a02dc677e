import assert from 'node:assert/strict';
import { createPublicKey, createVerify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { holdEarlyDtls, nacl, nativeX25519, network, noDefaultStun, werift } from './werift-patches.js';

/**
 * Each patch in werift-patches.ts against the installed werift: the internal it replaces is still
 * where we replace it and still used the way we rely on, and the replacement does the job. An
 * upgrade that moves any of it fails here instead of leaving a patch silently unapplied.
 */
const require = createRequire(import.meta.url);
const lib = path.resolve(path.dirname(require.resolve('werift')), '../..');
const source = (file: string) => readFileSync(path.join(lib, file), 'utf8');

test('the port finder: werift looks it up on the network module at each call, and ours hands out distinct ports in the range', async () => {
  assert.match(source('common/src/transport.js'), /\(0, network_1\.findPort\)\(/, 'werift calls findPort through the module object');
  const ports = [await network.findPort(47100, 47120), await network.findPort(47100, 47120), await network.findPort(47100, 47120)];
  assert.equal(new Set(ports).size, 3, `three callers, three ports: ${ports}`);
  for (const port of ports) assert.ok(port >= 47100 && port <= 47120, `${port} in the range`);
});

test("X25519: werift's DTLS calls tweetnacl's box.keyPair and scalarMult, and ours computes RFC 7748's test vector", () => {
  assert.match(source('dtls/src/cipher/namedCurve.js'), /tweetnacl_1\.default\.box\.keyPair\(\)/);
  assert.match(source('dtls/src/cipher/prf.js'), /tweetnacl_1\.default\.scalarMult\(/);
  const loaded = require(require.resolve('tweetnacl', { paths: [path.join(lib, 'dtls/src/cipher')] }));
  assert.equal(loaded, nacl, 'the tweetnacl module werift loads is the one patched');
  assert.equal(loaded.scalarMult, nativeX25519.scalarMult);
  assert.equal(loaded.box.keyPair, nativeX25519.keyPair);
  const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
  // RFC 7748 section 6.1: Alice's private key with Bob's public key gives their shared secret.
  const shared = nacl.scalarMult(
    hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
    hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'),
  );
  assert.equal(Buffer.from(shared).toString('hex'), '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
  const a = nacl.box.keyPair();
  const b = nacl.box.keyPair();
  assert.equal(a.publicKey.length, 32);
  assert.equal(a.secretKey.length, 32);
  assert.deepEqual(nacl.scalarMult(a.secretKey, b.publicKey), nacl.scalarMult(b.secretKey, a.publicKey), 'both sides agree');
});

test('the DTLS certificate is parsed once, and its key signs what the certificate verifies', async () => {
  const { certPem, keyPem, signatureHash } = await werift.CipherContext.createSelfSignedCertificateWithKey(
    { signature: werift.SignatureAlgorithm.ecdsa_3, hash: werift.HashAlgorithm.sha256_4 },
    werift.NamedCurveAlgorithm.secp256r1_23,
  );
  type Context = { localCert: Buffer; localPrivateKey: { sign(data: Buffer, hash: string): Buffer } };
  const one = new werift.CipherContext(1, certPem, keyPem, signatureHash) as unknown as Context;
  const two = new werift.CipherContext(1, certPem, keyPem, signatureHash) as unknown as Context;
  assert.equal(one.localCert, two.localCert, 'the second context reuses the parsed certificate');
  assert.equal(one.localPrivateKey, two.localPrivateKey);
  assert.deepEqual(one.localCert, new X509Certificate(certPem).raw, 'the DER of the certificate');
  const data = Buffer.from('a ServerKeyExchange to sign');
  const signature = one.localPrivateKey.sign(data, 'sha256');
  assert.ok(createVerify('sha256').update(data).verify(createPublicKey(certPem), signature), 'signed with the certificate key');
});

test("the certificate's fingerprints are computed once per certificate", async () => {
  const certificate = await werift.RTCDtlsTransport.SetupCertificate();
  const first = certificate.getFingerprints();
  assert.ok(first.length > 0 && first.every((f) => /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i.test(f.value)), JSON.stringify(first));
  assert.equal(certificate.getFingerprints(), first, 'the same list again');
});

test("no default STUN server: werift's ICE connection keeps it in the stunServer field we clear", () => {
  const connection = new werift.Connection(true, {});
  assert.deepEqual((connection as unknown as { stunServer: unknown }).stunServer, ['stun.l.google.com', 19302], "werift's default");
  noDefaultStun(connection);
  assert.equal((connection as unknown as { stunServer: unknown }).stunServer, undefined);
  assert.match(source('ice/src/ice.js'), /const \{ stunServer, turnServer \} = this;/, 'gathering reads the field, not the options');
});

test('early DTLS records are held until the DTLS server starts, then replayed in order', () => {
  const pc = new werift.RTCPeerConnection({});
  const transceiver = pc.addTransceiver('audio');
  const dtls = transceiver.dtlsTransport;
  assert.equal(dtls.state, 'new');
  const connection = dtls.iceTransport.connection;
  holdEarlyDtls(dtls);
  const clientHello = Buffer.from([22, 0xfe, 0xfd, 1]);
  const stun = Buffer.from([0, 1, 0, 0]);
  connection.onData.execute(clientHello);
  connection.onData.execute(stun);
  const replayed: Buffer[] = [];
  connection.onData.subscribe((buf: Buffer) => replayed.push(buf));
  dtls.onStateChange.execute('connecting');
  return new Promise<void>((resolve) => {
    queueMicrotask(() => {
      assert.deepEqual(replayed, [clientHello], 'the DTLS record only, once the server starts');
      void pc.close().then(() => resolve());
    });
  });
});
