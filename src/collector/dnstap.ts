/**
 * The few dnstap fields the collector needs, read straight from protobuf's wire format
 * (`protocols/dnstap.proto`): the message type, the client's address, the time and the DNS
 * response. Unknown fields are skipped, as protobuf requires.
 */

export class DnstapError extends Error {
  override readonly name = "DnstapError";
}

/** dnstap.Message.Type values the collector tells apart. */
export const MESSAGE_TYPE = { CLIENT_QUERY: 5, CLIENT_RESPONSE: 6 } as const;

export interface DnstapMessage {
  /** dnstap.Message.Type */
  readonly type: number;
  /** The client's address: 4 bytes (IPv4) or 16 (IPv6). */
  readonly queryAddress?: Uint8Array;
  /** When the response was sent (or the query received), in ms since the epoch. */
  readonly timeMs?: number;
  /** The DNS response in wire format. */
  readonly responseMessage?: Uint8Array;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

class WireReader {
  at: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.at = start;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) throw new DnstapError("truncated varint");
      const b = this.buf[this.at++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new DnstapError("varint longer than 10 bytes");
  }

  fixed32(): number {
    if (this.at + 4 > this.end) throw new DnstapError("truncated fixed32");
    const b = this.buf;
    const v =
      ((b[this.at] as number) |
        ((b[this.at + 1] as number) << 8) |
        ((b[this.at + 2] as number) << 16)) +
      (b[this.at + 3] as number) * 0x1000000;
    this.at += 4;
    return v;
  }

  /** A length-delimited field: its [start, end) in buf. */
  bytes(): [number, number] {
    const length = this.varint();
    const start = this.at;
    if (length > this.end - start) throw new DnstapError("field longer than its message");
    this.at = start + length;
    return [start, this.at];
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        if (this.at + 8 > this.end) throw new DnstapError("truncated fixed64");
        this.at += 8;
        return;
      case WIRE_BYTES:
        this.bytes();
        return;
      case WIRE_FIXED32:
        if (this.at + 4 > this.end) throw new DnstapError("truncated fixed32");
        this.at += 4;
        return;
      default:
        throw new DnstapError(`unsupported wire type ${wire}`);
    }
  }

  /** The next field's number and wire type. */
  tag(): [number, number] {
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw new DnstapError("field number 0");
    return [field, key & 7];
  }
}

function expectWire(field: string, wire: number, expected: number): void {
  if (wire !== expected) throw new DnstapError(`${field} has wire type ${wire}, not ${expected}`);
}

function readMessage(buf: Uint8Array, start: number, end: number): DnstapMessage {
  const r = new WireReader(buf, start, end);
  let type: number | undefined;
  let queryAddress: Uint8Array | undefined;
  let querySec: number | undefined;
  let queryNsec = 0;
  let responseSec: number | undefined;
  let responseNsec = 0;
  let responseMessage: Uint8Array | undefined;
  while (r.at < end) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        expectWire("Message.type", wire, WIRE_VARINT);
        type = r.varint();
        break;
      case 4: {
        expectWire("Message.query_address", wire, WIRE_BYTES);
        const [s, e] = r.bytes();
        queryAddress = buf.subarray(s, e);
        break;
      }
      case 8:
        expectWire("Message.query_time_sec", wire, WIRE_VARINT);
        querySec = r.varint();
        break;
      case 9:
        expectWire("Message.query_time_nsec", wire, WIRE_FIXED32);
        queryNsec = r.fixed32();
        break;
      case 12:
        expectWire("Message.response_time_sec", wire, WIRE_VARINT);
        responseSec = r.varint();
        break;
      case 13:
        expectWire("Message.response_time_nsec", wire, WIRE_FIXED32);
        responseNsec = r.fixed32();
        break;
      case 14: {
        expectWire("Message.response_message", wire, WIRE_BYTES);
        const [s, e] = r.bytes();
        responseMessage = buf.subarray(s, e);
        break;
      }
      default:
        r.skip(wire);
    }
  }
  if (type === undefined) throw new DnstapError("Message without its required type");
  const sec = responseSec ?? querySec;
  const nsec = responseSec !== undefined ? responseNsec : queryNsec;
  const out: {
    type: number;
    queryAddress?: Uint8Array;
    timeMs?: number;
    responseMessage?: Uint8Array;
  } = { type };
  if (queryAddress) out.queryAddress = queryAddress;
  if (sec !== undefined) out.timeMs = sec * 1000 + Math.floor(nsec / 1e6);
  if (responseMessage) out.responseMessage = responseMessage;
  return out;
}

/**
 * Reads a dnstap.Dnstap frame. Returns undefined for a frame without a Message (dnstap's
 * only type is MESSAGE; others are for future use and are skipped).
 */
export function decodeDnstap(frame: Uint8Array): DnstapMessage | undefined {
  const r = new WireReader(frame, 0, frame.length);
  let type: number | undefined;
  let message: [number, number] | undefined;
  while (r.at < frame.length) {
    const [field, wire] = r.tag();
    if (field === 15) {
      expectWire("Dnstap.type", wire, WIRE_VARINT);
      type = r.varint();
    } else if (field === 14) {
      expectWire("Dnstap.message", wire, WIRE_BYTES);
      message = r.bytes();
    } else r.skip(wire);
  }
  if (type === undefined) throw new DnstapError("Dnstap frame without its required type");
  if (type !== 1 || !message) return undefined;
  return readMessage(frame, message[0], message[1]);
}
