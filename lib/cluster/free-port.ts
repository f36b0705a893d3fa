import { createServer } from 'node:net'

/** The environment variable that gives the workers the port the primary chose for `--port 0`. */
export const PORT_ENV = 'GATEHOUSE_WORKER_PORT'

/**
 * A free port for `--port 0` under workers, chosen once by the primary. node:cluster shares a
 * listening socket between workers by address, port and the order of the listen calls, so
 * with port 0 the admin worker's admin listener (which listens first) and another worker's
 * proxy port would share one socket. A concrete port keeps them apart; another process
 * could take it between this probe and the workers' listen, which only `--port 0` risks.
 */
export function freePort (host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
