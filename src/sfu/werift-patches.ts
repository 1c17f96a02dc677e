import { createPrivateKey, createPublicKey, createSign, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RTCRtpTransceiver } from 'werift';
import { PortCursor } from './ports.js';

/**
 * Everything we change in werift, in one place: four replacements made when this module is
 * imported (the port finder, X25519, the DTLS certificate's parsing and its fingerprints) and two
 * per connection (no default STUN server, early DTLS records held). Each says why and what it
 * saved; each reaches into werift's internals, so src/sfu/werift-patches.test.ts checks each one
 * against the installed werift and fails if werift changes underneath (a renamed module, method
 * or field would otherwise leave a patch silently unapplied). The worker (worker.ts) imports
 * werift from here, so it never runs unpatched.
 */

// werift's CommonJS build, so that its UDP port finder (an internal module) can be replaced: see PortCursor.
const require = createRequire(import.meta.url);
export const werift = require('werift') as typeof import('werift');
/** werift's internal network module (exported for the test that checks the patch is in place). */
export const network = require(path.join(path.dirname(require.resolve('werift')), '../../common/src/network.js')) as {
  findPort: (min: number, max: number, protocol?: string, interfaces?: Record<string, string>) => Promise<number>;
};
const portCursor = new PortCursor();
network.findPort = (min, max, protocol = 'udp4', interfaces) => portCursor.find(min, max, protocol as 'udp4' | 'udp6', interfaces?.[protocol]);

// werift's DTLS does its X25519 key exchange (the curve libwebrtc and browsers pick) in tweetnacl's
// JavaScript: 1.9 ms of this thread per handshake against 0.7 ms with Node's native X25519
// (measured), in every join. Its two calls are replaced on the tweetnacl module werift loads.
/** The tweetnacl module werift's DTLS loads (exported for the test). */
export const nacl = require(require.resolve('tweetnacl', { paths: [path.dirname(require.resolve('werift'))] })) as {
  box: { keyPair: () => { publicKey: Uint8Array; secretKey: Uint8Array } };
  scalarMult: (n: Uint8Array, p: Uint8Array) => Uint8Array;
};
/** DER prefixes of a raw 32-byte X25519 key (RFC 8410): SubjectPublicKeyInfo and PKCS #8. */
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
/** The raw key at the end of a DER export, in its own buffer (werift wraps the `.buffer`). */
const rawKey = (der: Buffer) => new Uint8Array(der.subarray(der.length - 32));
/** The private key objects of the secret keys made below, by their buffer: no re-import per exchange. */
const privateKeys = new WeakMap<ArrayBufferLike, KeyObject>();
/** Node's native X25519 in tweetnacl's shape (exported for the test: these are what werift's calls reach). */
export const nativeX25519 = {
  keyPair: () => {
    const { publicKey, privateKey } = generateKeyPairSync('x25519');
    const secretKey = rawKey(privateKey.export({ format: 'der', type: 'pkcs8' }));
    privateKeys.set(secretKey.buffer, privateKey);
    return { publicKey: rawKey(publicKey.export({ format: 'der', type: 'spki' })), secretKey };
  },
  scalarMult: (n: Uint8Array, p: Uint8Array) =>
    new Uint8Array(
      diffieHellman({
        privateKey: privateKeys.get(n.buffer) ?? createPrivateKey({ key: Buffer.concat([X25519_PKCS8, n]), format: 'der', type: 'pkcs8' }),
        publicKey: createPublicKey({ key: Buffer.concat([X25519_SPKI, p]), format: 'der', type: 'spki' }),
      }),
    ),
};
nacl.box.keyPair = nativeX25519.keyPair;
nacl.scalarMult = nativeX25519.scalarMult;

// werift reads its one DTLS certificate again for every join: each handshake parses the key and the
// certificate from PEM (0.19 ms) and signs with the key as PEM, which Node parses again (0.85 ms against
// 0.05 ms with a key object), and each answer hashes the certificate for its fingerprint once per m-line.
// Profiled over 110 joins: 3.6 ms a join of this thread (createAnswer 186 ms in all, 54 after). The parsed key
// and certificate, a key object to sign with, and the fingerprints are kept instead.
interface DtlsPrivateKey {
  toPEM(): string;
  sign(data: Buffer, hash: string): Buffer;
}
interface CipherContextInstance {
  localCert: Buffer;
  localPrivateKey: DtlsPrivateKey;
  signatureHashAlgorithm: unknown;
}
const cipherContext = (werift as unknown as { CipherContext: { prototype: { parseX509(cert: string, key: string, hash: unknown): void } } }).CipherContext
  .prototype;
const parseX509 = cipherContext.parseX509;
const parsedCertificates = new Map<string, { localCert: Buffer; localPrivateKey: DtlsPrivateKey }>();
cipherContext.parseX509 = function (this: CipherContextInstance, certPem: string, keyPem: string, signatureHash: unknown) {
  const key = `${certPem}\n${keyPem}`;
  let parsed = parsedCertificates.get(key);
  if (!parsed) {
    parseX509.call(this, certPem, keyPem, signatureHash);
    const privateKey = this.localPrivateKey;
    const keyObject = createPrivateKey(privateKey.toPEM());
    privateKey.sign = (data, hash) => createSign(hash).update(data).sign(keyObject);
    parsed = { localCert: this.localCert, localPrivateKey: privateKey };
    parsedCertificates.set(key, parsed);
  }
  this.localCert = parsed.localCert;
  this.localPrivateKey = parsed.localPrivateKey;
  this.signatureHashAlgorithm = signatureHash;
};
const certificate = (werift as unknown as { RTCCertificate: { prototype: { getFingerprints(): unknown[] } } }).RTCCertificate.prototype;
const getFingerprints = certificate.getFingerprints;
const fingerprints = new WeakMap<object, unknown[]>();
certificate.getFingerprints = function (this: object) {
  let kept = fingerprints.get(this);
  if (!kept) {
    kept = getFingerprints.call(this);
    fingerprints.set(this, kept);
  }
  return kept;
};

/**
 * werift's ICE agent asks stun.l.google.com:19302 for a server-reflexive candidate whenever no STUN
 * server is configured, and its gathering (so our answer) waits up to 5 s for that request. Here,
 * with no route out, every answer in a burst of joins took 5 s (traced: createAnswer and
 * setLocalDescription 5,003-5,043 ms); anywhere, it told a third party about every join. The SFU's
 * reachable address is RTC_ANNOUNCED_IP (or its interfaces): without a configured STUN server the
 * agent's default is removed before it gathers (the worker calls this when no STUN server is configured).
 */
export function noDefaultStun(connection: unknown) {
  (connection as { stunServer?: unknown }).stunServer = undefined;
}

/** At most this many DTLS records are held for a DTLS server that has not started yet. */
const EARLY_DTLS_MAX = 8;

/**
 * Holds the DTLS records that arrive before werift starts its DTLS server and replays them once it
 * has. werift starts it only when its own ICE checks are done (its check loop runs every 20 ms),
 * while the client, as the controlling agent, has ICE and sends its ClientHello a few ms after it
 * has our answer: werift dropped that first ClientHello and the handshake waited for the client's
 * retransmit (measured: 50 ms for libwebrtc on loopback, more on a real network).
 */
export function holdEarlyDtls(dtls: RTCRtpTransceiver['dtlsTransport']) {
  const connection = dtls.iceTransport.connection;
  const early: Buffer[] = [];
  const held = connection.onData.subscribe((buf: Buffer) => {
    // DTLS records start with a content type of 20..63 (RFC 7983).
    if (dtls.state === 'new' && buf[0] >= 20 && buf[0] <= 63 && early.length < EARLY_DTLS_MAX) early.push(buf);
  });
  const started = dtls.onStateChange.subscribe((state) => {
    if (state === 'new') return;
    held.unSubscribe();
    started.unSubscribe();
    // 'connecting' is set just before the DTLS server is created and subscribed, in the same
    // synchronous run: the replay waits for that run to finish.
    if (state === 'connecting' && early.length) {
      queueMicrotask(() => {
        for (const buf of early.splice(0)) connection.onData.execute(buf);
      });
    }
  });
}
