/**
 * Frame Streams (fstrm), the framing dnstap travels in: a data frame is a 32-bit big-endian
 * length and that many bytes; a control frame is a zero length, its own length, a control
 * type and fields (only CONTENT_TYPE is defined). Pure: bytes in, frames and replies out.
 */

export const DNSTAP_CONTENT_TYPE = "protobuf:dnstap.Dnstap";

export const CONTROL = { ACCEPT: 1, START: 2, STOP: 3, READY: 4, FINISH: 5 } as const;
export type ControlType = (typeof CONTROL)[keyof typeof CONTROL];
const CONTROL_NAMES: Record<number, string> = {
  1: "ACCEPT",
  2: "START",
  3: "STOP",
  4: "READY",
  5: "FINISH",
};
const FIELD_CONTENT_TYPE = 1;
/** fstrm's limit on a control frame. */
const MAX_CONTROL_LENGTH = 512;
export const DEFAULT_MAX_DATA_FRAME = 1 << 20;

/** The peer broke the protocol: its connection is closed, nobody else's. */
export class FrameStreamError extends Error {
  override readonly name = "FrameStreamError";
}

export interface ControlFrame {
  readonly control: ControlType;
  readonly contentTypes: readonly string[];
}

/** A control frame as bytes, escape included. */
export function encodeControl(control: ControlType, contentTypes: readonly string[] = []): Buffer {
  const fields = contentTypes.map((t) => Buffer.from(t, "utf8"));
  const length = 4 + fields.reduce((n, f) => n + 8 + f.length, 0);
  const out = Buffer.alloc(8 + length);
  out.writeUInt32BE(0, 0);
  out.writeUInt32BE(length, 4);
  out.writeUInt32BE(control, 8);
  let at = 12;
  for (const f of fields) {
    out.writeUInt32BE(FIELD_CONTENT_TYPE, at);
    out.writeUInt32BE(f.length, at + 4);
    f.copy(out, at + 8);
    at += 8 + f.length;
  }
  return out;
}

/** A data frame as bytes. */
export function encodeData(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

function decodeControl(body: Buffer): ControlFrame {
  if (body.length < 4) throw new FrameStreamError("control frame shorter than its type");
  const control = body.readUInt32BE(0);
  if (CONTROL_NAMES[control] === undefined) {
    throw new FrameStreamError(`unknown control frame type ${control}`);
  }
  const contentTypes: string[] = [];
  let at = 4;
  while (at < body.length) {
    if (at + 8 > body.length) throw new FrameStreamError("truncated control frame field");
    const field = body.readUInt32BE(at);
    const length = body.readUInt32BE(at + 4);
    if (at + 8 + length > body.length) {
      throw new FrameStreamError("control frame field longer than its frame");
    }
    if (field === FIELD_CONTENT_TYPE) {
      contentTypes.push(body.toString("utf8", at + 8, at + 8 + length));
    }
    at += 8 + length;
  }
  return { control: control as ControlType, contentTypes };
}

export interface FrameSink {
  /** A data frame's payload: buf[start, end), valid only during the call (no copy, no view). */
  data(buf: Buffer, start: number, end: number): void;
  control(frame: ControlFrame): void;
}

/**
 * Splits a byte stream into frames, however the stream was cut into chunks. A data frame's
 * payload is a view into the chunk when it lies whole in it (no copy).
 */
export class FrameReader {
  private pending: Buffer | undefined;

  constructor(private readonly maxDataFrame = DEFAULT_MAX_DATA_FRAME) {}

  /** Bytes received but not yet a whole frame. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }

  /**
   * The whole size of the frame at `at` (header included) when its header is there, else
   * the header's size (not enough bytes to know). Throws for a frame over the limits.
   */
  private frameSize(buf: Buffer, at: number): { size: number; known: boolean } {
    if (buf.length - at < 4) return { size: 4, known: false };
    const length = buf.readUInt32BE(at);
    if (length !== 0) {
      if (length > this.maxDataFrame) {
        throw new FrameStreamError(
          `data frame of ${length} bytes is larger than the limit of ${this.maxDataFrame}`,
        );
      }
      return { size: 4 + length, known: true };
    }
    if (buf.length - at < 8) return { size: 8, known: false };
    const controlLength = buf.readUInt32BE(at + 4);
    if (controlLength > MAX_CONTROL_LENGTH) {
      throw new FrameStreamError(
        `control frame of ${controlLength} bytes is larger than the limit of ${MAX_CONTROL_LENGTH}`,
      );
    }
    return { size: 8 + controlLength, known: true };
  }

  /** Hands the whole frames of buf from `at` to the sink; returns where the rest starts. */
  private frames(buf: Buffer, start: number, sink: FrameSink): number {
    let at = start;
    while (buf.length - at >= 4) {
      const length = buf.readUInt32BE(at);
      if (length !== 0) {
        if (length > this.maxDataFrame || buf.length - at - 4 < length) {
          this.frameSize(buf, at); // throws for an oversized frame
          break;
        }
        sink.data(buf, at + 4, at + 4 + length);
        at += 4 + length;
        continue;
      }
      const { size, known } = this.frameSize(buf, at);
      if (!known || buf.length - at < size) break;
      sink.control(decodeControl(buf.subarray(at + 8, at + size)));
      at += size;
    }
    return at;
  }

  push(chunk: Buffer, sink: FrameSink): void {
    let at = 0;
    // A frame cut by the previous chunk: complete it with just the bytes it lacks (copying
    // whole chunks to join them would copy every byte of a busy stream once more).
    while (this.pending) {
      const { size, known } = this.frameSize(this.pending, 0);
      const take = Math.min(size - this.pending.length, chunk.length - at);
      this.pending = Buffer.concat([this.pending, chunk.subarray(at, at + take)]);
      at += take;
      if (this.pending.length < size) return;
      if (!known) continue; // the header is whole now: its frame's size is known
      const whole = this.pending;
      this.pending = undefined;
      this.frames(whole, 0, sink);
    }
    const rest = this.frames(chunk, at, sink);
    // Keep the rest as a copy: the chunk's memory may be reused by the socket.
    if (rest < chunk.length) this.pending = Buffer.from(chunk.subarray(rest));
  }
}

export type SessionState = "handshake" | "started" | "finished";

/** What a session wants done after a control frame: bytes to send, and whether to close. */
export interface SessionReply {
  readonly send?: Buffer;
  readonly close?: boolean;
}

/**
 * The receiver's side of a session: bidirectional (READY → ACCEPT, START, data, STOP →
 * FINISH), or unidirectional (START, data, STOP), as fstrm's writers may use either.
 */
export class ReceiverSession {
  state: SessionState = "handshake";
  private accepted = false;

  constructor(private readonly contentType = DNSTAP_CONTENT_TYPE) {}

  control(frame: ControlFrame): SessionReply {
    const name = CONTROL_NAMES[frame.control] ?? String(frame.control);
    switch (frame.control) {
      case CONTROL.READY:
        if (this.state !== "handshake" || this.accepted) break;
        if (!frame.contentTypes.includes(this.contentType)) {
          throw new FrameStreamError(
            `READY offers ${frame.contentTypes.map((t) => `"${t}"`).join(", ") || "no content type"}, not "${this.contentType}"`,
          );
        }
        this.accepted = true;
        return { send: encodeControl(CONTROL.ACCEPT, [this.contentType]) };
      case CONTROL.START:
        if (this.state !== "handshake") break;
        if (frame.contentTypes.length > 0 && !frame.contentTypes.includes(this.contentType)) {
          throw new FrameStreamError(
            `START for "${frame.contentTypes[0]}", not "${this.contentType}"`,
          );
        }
        this.state = "started";
        return {};
      case CONTROL.STOP:
        if (this.state !== "started") break;
        this.state = "finished";
        return this.accepted
          ? { send: encodeControl(CONTROL.FINISH), close: true }
          : { close: true };
      default:
        break;
    }
    throw new FrameStreamError(`unexpected ${name} frame (session ${this.state})`);
  }

  /** Whether a data frame may come now. */
  dataAllowed(): boolean {
    return this.state === "started";
  }
}
