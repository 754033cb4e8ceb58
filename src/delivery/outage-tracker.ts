/**
 * Reports an unreachable next hop once per outage (event 3039) and once when it is back, not once
 * per message: the IMS stopped the service in this situation (Q169686); ims-relay retries.
 */
export class OutageTracker {
  private down = false;

  constructor(
    private readonly onDown: () => void,
    private readonly onUp: () => void,
  ) {}

  report(reachable: boolean): void {
    if (!reachable && !this.down) {
      this.down = true;
      this.onDown();
    } else if (reachable && this.down) {
      this.down = false;
      this.onUp();
    }
  }

  get isDown(): boolean {
    return this.down;
  }
}
