import { startBackend } from '../helper'

/** A backend whose /slow requests wait for release(). */
export async function slowBackend (t: Parameters<typeof startBackend>[0], name: string) {
  const backend = await startBackend(t, name)
  let release = () => {}
  const arrived = new Promise<void>(resolve => {
    backend.handle((req, res) => {
      if (req.url !== '/slow') { res.setHeader('x-backend', name); res.end(name); return }
      resolve()
      release = () => res.end('slow done')
    })
  })
  return { backend, arrived, release: () => release() }
}
