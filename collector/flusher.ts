/**
 * One publish at a time: a flush asked for while one runs joins it. The last flush (on
 * SIGTERM) waits for one in progress and then publishes what came after that one read its
 * snapshot, so nothing observed before the signal is left unwritten.
 */
export class Flusher {
  private running: Promise<void> | undefined;

  constructor(private readonly publish: () => Promise<void>) {}

  flush(): Promise<void> {
    this.running ??= this.publish().finally(() => (this.running = undefined));
    return this.running;
  }

  async final(): Promise<void> {
    // Its failure was logged where it was asked for; the last flush still runs.
    if (this.running) await this.running.catch(() => undefined);
    return this.flush();
  }
}
