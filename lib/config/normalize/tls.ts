import { readFileSync } from 'node:fs'
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { isAbsolute, resolve } from 'node:path'
import type { ListenConfig, UpstreamTlsConfig } from '../schema'
import type { CertPair, FrontTls, ListenOptions, UpstreamOptions, UpstreamTls } from '../types'
import { parseRange } from '../../filters/ip-list'
import { DEFAULT_REJECT_UNAUTHORIZED, DEFAULT_TLS_MIN_VERSION } from '../defaults'

// TLS settings of the config: certificate files are read here, at load and at every
// reload, so that a missing, unreadable or mismatched file fails the config by name and the
// certificates in force keep serving.

// RFC 1123 §2.1 labels (letters, digits, hyphens; not starting or ending with a hyphen).
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const HOST_NAME = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`)

/** The `listen` block with its certificate files read and checked; problems by path. */
export function normalizeListen (listen: ListenConfig | undefined, baseDir: string, problems: string[]): ListenOptions {
  const http2 = listen?.http2 ?? false
  const out: ListenOptions = { http2, redirectHttp: listen?.redirectHttp }
  if (listen?.proxyProtocol !== undefined) {
    const from = listen.proxyProtocol.from
    from.forEach((entry, i) => {
      if (parseRange(entry) === undefined) problems.push(`listen.proxyProtocol.from[${i}]: not an IP address or CIDR (got ${JSON.stringify(entry)})`)
    })
    out.proxyProtocol = { from: [...from] }
  }
  const tls = listen?.tls
  if (tls === undefined) {
    // Browsers speak HTTP/2 only over TLS (ALPN, RFC 9113 §3.2); cleartext h2c is not offered.
    if (http2) problems.push('listen.http2: needs listen.tls (HTTP/2 is served over TLS only)')
    if (listen?.redirectHttp !== undefined) problems.push('listen.redirectHttp: needs listen.tls (it redirects to https)')
    return out
  }
  const main = readPair('listen.tls', tls, baseDir, problems)
  const sni = new Map<string, CertPair>()
  for (const [name, pair] of Object.entries(tls.sni ?? {})) {
    const path = `listen.tls.sni[${JSON.stringify(name)}]`
    if (!HOST_NAME.test(name) || name.length > 253) {
      problems.push(`${path}: not a host name (an exact name such as "api.example.com", or one wildcard label such as "*.example.org")`)
      continue
    }
    const read = readPair(path, pair, baseDir, problems)
    if (read !== undefined) sni.set(name.toLowerCase(), read)
  }
  if (main !== undefined) {
    const front: FrontTls = { ...main, sni, minVersion: tls.minVersion ?? DEFAULT_TLS_MIN_VERSION }
    out.tls = front
  }
  return out
}

/** An upstream's `tls` with its files read; undefined when the upstream sets none. */
export function normalizeUpstreamTls (path: string, tls: UpstreamTlsConfig | undefined, baseDir: string, problems: string[]): UpstreamTls | undefined {
  if (tls === undefined) return undefined
  const out: UpstreamTls = { servername: tls.servername, rejectUnauthorized: tls.rejectUnauthorized ?? DEFAULT_REJECT_UNAUTHORIZED }
  if (tls.ca !== undefined) out.ca = readPem(`${path}.tls.ca`, tls.ca, baseDir, problems)
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    problems.push(`${path}.tls: cert and key go together (a client certificate needs its key)`)
  } else if (tls.cert !== undefined && tls.key !== undefined) {
    const pair = readPair(`${path}.tls`, { cert: tls.cert, key: tls.key }, baseDir, problems)
    if (pair !== undefined) {
      out.cert = pair.cert
      out.key = pair.key
    }
  }
  return out
}

/** The files of an upstream's `tls`, as absolute paths; undefined when it names none. */
export function upstreamTlsFiles (tls: UpstreamTlsConfig | undefined, baseDir: string): UpstreamOptions['tlsFiles'] {
  if (tls === undefined) return undefined
  const files: NonNullable<UpstreamOptions['tlsFiles']> = {}
  for (const k of ['ca', 'cert', 'key'] as const) {
    const file = tls[k]
    if (file !== undefined) files[k] = resolve(baseDir, file)
  }
  return Object.keys(files).length === 0 ? undefined : files
}

/** Reads a certificate and its key and checks that the key is the certificate's. */
function readPair (path: string, pair: { cert: string, key: string }, baseDir: string, problems: string[]): CertPair | undefined {
  const certFile = resolve(baseDir, pair.cert)
  const keyFile = resolve(baseDir, pair.key)
  const cert = readPem(`${path}.cert`, pair.cert, baseDir, problems)
  const key = readPem(`${path}.key`, pair.key, baseDir, problems)
  if (cert === undefined || key === undefined) return undefined
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch (err) {
    problems.push(`${path}.cert: ${certFile} is not a PEM certificate (${(err as Error).message})`)
    return undefined
  }
  let privateKey
  try {
    privateKey = createPrivateKey(key)
  } catch (err) {
    problems.push(`${path}.key: ${keyFile} is not a PEM private key (${(err as Error).message})`)
    return undefined
  }
  if (!x509.checkPrivateKey(privateKey)) {
    problems.push(`${path}.key: ${keyFile} is not the private key of ${certFile}`)
    return undefined
  }
  return { cert, key, certFile, keyFile }
}

function readPem (path: string, file: string, baseDir: string, problems: string[]): string | undefined {
  const full = isAbsolute(file) ? file : resolve(baseDir, file)
  try {
    return readFileSync(full, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    problems.push(`${path}: cannot read ${full}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`)
    return undefined
  }
}
