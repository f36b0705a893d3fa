/** Every balancer by its config name; the schema and the factory table both read this one list. */
export const BALANCER_NAMES = ['round-robin', 'random', 'least-connections', 'p2c', 'hash'] as const

export type BalancerName = typeof BALANCER_NAMES[number]
