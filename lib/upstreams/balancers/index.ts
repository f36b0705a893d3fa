import type { Backend } from '../backend'
import type { Balancer, BalancerFactory } from './balancer'
import { HashBalancer } from './hash'
import { LeastConnectionsBalancer } from './least-connections'
import { P2CBalancer } from './p2c'
import { RandomBalancer } from './random'
import { RoundRobinBalancer } from './round-robin'
import type { BalancerName } from './names'

export type { Balancer, BalancerFactory, PickContext } from './balancer'
export { HashBalancer, LeastConnectionsBalancer, P2CBalancer, RandomBalancer, RoundRobinBalancer }

export { BALANCER_NAMES, type BalancerName } from './names'
export type BalancerOptions = NonNullable<Parameters<BalancerFactory>[1]>

export const BALANCERS: Readonly<Record<BalancerName, BalancerFactory>> = {
  'round-robin': servers => new RoundRobinBalancer(servers),
  random: (servers, options) => new RandomBalancer(servers, options),
  'least-connections': servers => new LeastConnectionsBalancer(servers),
  p2c: (servers, options) => new P2CBalancer(servers, options),
  hash: servers => new HashBalancer(servers)
}

export function createBalancer (name: BalancerName, servers: readonly Backend[], options?: BalancerOptions): Balancer {
  // The config schema already restricts names; this guards callers outside it.
  if (!Object.hasOwn(BALANCERS, name)) throw new Error(`unknown balancer "${String(name)}"`)
  return BALANCERS[name](servers, options)
}
