import Redis from 'ioredis'
import { startBackend, startLoggedGateway, type LoggedGateway, type TestBackend } from '../../helper'
import { startRedis, type TestRedis } from '../../redis'
import { admin, TOKEN } from '../admin-client'
import type { Reply } from '../../helper'

type Test = Parameters<typeof startRedis>[0]

/** A private redis-server and a client of the test's own on it (closed in teardown). */
export async function privateRedis (t: Test): Promise<{ redis: TestRedis, client: Redis }> {
  const redis = await startRedis(t)
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 20 })
  client.on('error', () => {})
  await client.connect()
  t.teardown(() => client.disconnect())
  return { redis, client }
}

/** Two backends and the config of a fleet on `sync`: group u with a and c from the file. */
export async function fleetSetup (t: Test) {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const c = await startBackend(t, 'c')
  const config = (sync: string, servers = [{ url: a.url, id: 'a' }, { url: c.url, id: 'c' }]) => ({
    admin: { port: 0, token: TOKEN, sync },
    upstreams: { u: { servers } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  return { a, b, c, config }
}

export type { TestBackend }

/**
 * A Redis user of its own for one gateway, so that the test can cut that gateway alone off
 * (disable the user, kill its connections: its reconnects then fail) and let it back.
 */
export async function userFor (client: Redis, redis: TestRedis, name: string): Promise<{ url: string, cut: () => Promise<void>, restore: () => Promise<void> }> {
  const password = `pw-${name}-0123456789`
  await client.call('ACL', 'SETUSER', name, 'on', `>${password}`, '~*', '&*', '+@all')
  return {
    url: `redis://${name}:${password}@127.0.0.1:${redis.port}`,
    async cut () {
      await client.call('ACL', 'SETUSER', name, 'off')
      await client.call('CLIENT', 'KILL', 'USER', name)
    },
    async restore () {
      await client.call('ACL', 'SETUSER', name, 'on')
    }
  }
}

/** A server of group u on one gateway, as its registry has it (undefined once gone). */
export function serverOn (gw: LoggedGateway, id: string) {
  const backend = gw.app.gatehouse.registry.get('u')?.backends.get(id)
  return backend === undefined || backend.draining ? undefined : backend
}

/** Every server of group u on one gateway: id, state and weight, sorted. What must match fleet-wide. */
export function stateOf (gw: LoggedGateway): string {
  const group = gw.app.gatehouse.registry.get('u')
  if (group === undefined) return ''
  return group.backends.all().filter(b => !b.draining && !gw.app.gatehouse.runtime.isRemoving(b))
    .map(b => `${b.id}:${b.adminState}:${b.weight}`).sort().join(' ')
}

export async function change (gw: LoggedGateway, method: string, path: string, body?: unknown): Promise<Reply> {
  return await admin(gw.app.gatehouse.adminUrl as string, method, path, { token: TOKEN, body })
}

export { startLoggedGateway, TOKEN }
