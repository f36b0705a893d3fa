import type { RuntimeChange, RuntimeServers } from '../upstreams/runtime-servers'

/** A change as it is passed on between the workers of one machine: who made it and the change itself. */
export interface FleetMessage {
  instance: string
  change: RuntimeChange
}

/**
 * Applies a change another process made, through the same RuntimeServers calls the admin
 * API makes, marked as coming from the fleet so that it is not passed on again. A change that
 * no longer applies here (a server already added, a group this config does not have) is
 * skipped: returns false.
 */
export function applyFleetChange (runtime: RuntimeServers, msg: FleetMessage): boolean {
  const { change } = msg
  const by = `fleet:${msg.instance}`
  try {
    if (change.action === 'add') {
      runtime.add(change.upstream, { ...change.after, id: change.server }, by)
    } else if (change.action === 'update') {
      runtime.update(change.upstream, change.server, change.after, by)
    } else {
      runtime.remove(change.upstream, change.server, by)
    }
    return true
  } catch {
    return false
  }
}

/** Whether a change came from the fleet (and so must not be written again). */
export function fromFleet (change: RuntimeChange): boolean {
  return change.by.startsWith('fleet:')
}
