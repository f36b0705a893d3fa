export type HealthStatus = 'healthy' | 'unhealthy'

export interface HealthTransition {
  from: HealthStatus
  to: HealthStatus
  /** What the check that tipped the balance said, e.g. 'status 503', 'timeout'. */
  reason: string
}

export interface Thresholds {
  /** Consecutive passes that bring an unhealthy server back. */
  healthyThreshold: number
  /** Consecutive failures that take a healthy server out. */
  unhealthyThreshold: number
}

/**
 * The active-health verdict on one server. Requiring several results in a row keeps one
 * slow or lost probe from flapping a server in and out of rotation. A server starts
 * healthy, as in nginx, HAProxy and Pingora: a gateway that starts (or reloads) must not
 * refuse traffic until its first checks have come back.
 */
export class HealthState {
  private current: HealthStatus = 'healthy'
  /** Consecutive results against the current status; one result for it resets the count. */
  private streak = 0

  // A server added at run time starts unhealthy: nothing is known of it yet, so it takes
  // traffic only once its checks pass.
  constructor (private thresholds: Thresholds, initial: HealthStatus = 'healthy') {
    this.current = initial
  }

  get status (): HealthStatus {
    return this.current
  }

  get healthy (): boolean {
    return this.current === 'healthy'
  }

  /**
   * New thresholds (a reload changed the check). The status stays; the streak starts over,
   * since results gathered under other settings say little about the new ones.
   */
  reconfigure (thresholds: Thresholds): void {
    this.thresholds = thresholds
    this.streak = 0
  }

  /** Records one check result; returns the transition when this result changed the status. */
  record (pass: boolean, reason = pass ? 'passed' : 'failed'): HealthTransition | undefined {
    if (pass === this.healthy) {
      this.streak = 0
      return undefined
    }
    this.streak++
    const needed = pass ? this.thresholds.healthyThreshold : this.thresholds.unhealthyThreshold
    if (this.streak < needed) return undefined
    const from = this.current
    this.current = pass ? 'healthy' : 'unhealthy'
    this.streak = 0
    return { from, to: this.current, reason }
  }
}
