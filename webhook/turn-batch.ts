/**
 * Reviews answered a turn of the event loop at a time (ADR 18): the reviews whose bodies
 * arrived in one turn are decided one after another, then all their answers are sent. Deciding
 * between two TLS writes ran the decision with cold caches, at a third of its speed; together,
 * the webhook answers about twice as many reviews a second.
 */

/** An answer to send: its status and JSON body. */
export interface Reply {
  readonly status: number;
  readonly body: string;
}

interface Pending {
  readonly answer: () => Reply;
  readonly send: (reply: Reply) => void;
}

/** What a review is answered when working out its answer threw (a bug). */
export const INTERNAL_ERROR: Reply = {
  status: 500,
  body: JSON.stringify({ error: "internal error (see the webhook's log)" }),
};

export class TurnBatch {
  private readonly queue: Pending[] = [];
  private scheduled = false;

  /**
   * @param most the most reviews decided in one turn; the rest wait for the next, after the
   *   loop has read the sockets again, so that one turn holds the loop for a few milliseconds
   *   at most.
   * @param failed told of an answer that threw (answered INTERNAL_ERROR), or a send that did.
   */
  constructor(
    private readonly most = 64,
    private readonly failed: (e: unknown, when: "answer" | "send") => void = () => undefined,
  ) {}

  /** `answer` is worked out with this turn's other reviews; `send` is given it after all of them. */
  add(answer: () => Reply, send: (reply: Reply) => void): void {
    this.queue.push({ answer, send });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = (): void => {
    const now = this.queue.splice(0, this.most);
    if (this.queue.length > 0) setImmediate(this.run);
    else this.scheduled = false;
    const replies: Reply[] = new Array<Reply>(now.length);
    for (let i = 0; i < now.length; i++) {
      try {
        replies[i] = (now[i] as Pending).answer();
      } catch (e) {
        this.failed(e, "answer");
        replies[i] = INTERNAL_ERROR;
      }
    }
    for (let i = 0; i < now.length; i++) {
      try {
        (now[i] as Pending).send(replies[i] as Reply);
      } catch (e) {
        // The connection is gone (or was answered by a timeout): nothing to send it to.
        this.failed(e, "send");
      }
    }
  };
}
