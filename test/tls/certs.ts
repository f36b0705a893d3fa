import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

type Test = { teardown (fn: () => unknown): void }

export interface Leaf {
  cert: string
  key: string
  /** The PEM text of cert, for clients that trust it directly. */
  pem (): string
}

export interface Certs {
  dir: string
  /** The private CA's certificate (a path). */
  ca: string
  caPem: string
  /** A leaf signed by the private CA, for `names` (DNS names; IP addresses are added as IP SANs). */
  leaf (file: string, cn: string, names: string[], opts?: { clientAuth?: boolean }): Leaf
  /** A self-signed leaf that no CA vouches for. */
  selfSigned (file: string, cn: string, names: string[]): Leaf
}

// EC P-256: fast to make (a few ms each), which keeps every test file within seconds.
const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

function openssl (args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

function sanOf (names: string[]): string {
  return names.map(n => /^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`).join(',')
}

/**
 * Certificates made at test time with openssl, in a temp dir removed in teardown: a private
 * CA and leaves it signs. No private key is ever committed.
 */
export function makeCerts (t: Test): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  openssl(['req', '-x509', ...KEY, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Gatehouse Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
  const ca = join(dir, 'ca.pem')
  const leafOf = (file: string): Leaf => {
    const cert = join(dir, `${file}.pem`)
    const key = join(dir, `${file}-key.pem`)
    return { cert, key, pem: () => readFileSync(cert, 'utf8') }
  }
  return {
    dir,
    ca,
    caPem: readFileSync(ca, 'utf8'),
    leaf (file, cn, names, opts = {}) {
      const ext = join(dir, `${file}.ext`)
      writeFileSync(ext, [
        `subjectAltName=${sanOf(names)}`,
        'basicConstraints=CA:FALSE',
        `extendedKeyUsage=${opts.clientAuth === true ? 'clientAuth' : 'serverAuth'}`
      ].join('\n') + '\n')
      openssl(['req', ...KEY, '-keyout', `${file}-key.pem`, '-out', `${file}.csr`, '-subj', `/CN=${cn}`], dir)
      openssl(['x509', '-req', '-in', `${file}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial',
        '-out', `${file}.pem`, '-days', '2', '-extfile', `${file}.ext`], dir)
      return leafOf(file)
    },
    selfSigned (file, cn, names) {
      openssl(['req', '-x509', ...KEY, '-keyout', `${file}-key.pem`, '-out', `${file}.pem`, '-days', '2', '-subj', `/CN=${cn}`,
        '-addext', `subjectAltName=${sanOf(names)}`], dir)
      return leafOf(file)
    }
  }
}
