/**
 * The few dnstap fields the collector needs, read straight from protobuf's wire format
 * (dnstap.proto, as the Go module github.com/dnstap/golang-dnstap ships it): the message type, the client's address, the time and the DNS
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
  /** The client's address, 4 bytes (IPv4) or 16 (IPv6); read for CLIENT_RESPONSE only. */
  readonly queryAddress?: Uint8Array | undefined;
  /** When the response was sent (or the query received), in ms since the epoch. */
  readonly timeMs?: number | undefined;
  /** The DNS response in wire format (CLIENT_RESPONSE only). */
  readonly responseMessage?: Uint8Array | undefined;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

class WireReader {
  buf: Uint8Array = new Uint8Array(0);
  at = 0;
  end = 0;

  /** Points the reader at buf[start, end): readers are reused, not made per frame. */
  reset(buf: Uint8Array, start: number, end: number): this {
    this.buf = buf;
    this.at = start;
    this.end = end;
    return this;
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

  /** Where the last length-delimited field read starts (it ends at `at`). */
  fieldStart = 0;

  /** A length-delimited field: fieldStart and at are left around it (no allocation). */
  bytes(): void {
    const length = this.varint();
    const start = this.at;
    if (length > this.end - start) throw new DnstapError("field longer than its message");
    this.fieldStart = start;
    this.at = start + length;
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

  /** The next field's key: its number times 8 plus its wire type. */
  key(): number {
    const key = this.varint();
    if (key < 8) throw new DnstapError("field number 0");
    return key;
  }
}

const frameReader = new WireReader();
const messageReader = new WireReader();

function expectWire(field: string, wire: number, expected: number): void {
  if (wire !== expected) throw new DnstapError(`${field} has wire type ${wire}, not ${expected}`);
}

function readMessage(buf: Uint8Array, start: number, end: number): DnstapMessage {
  const r = messageReader.reset(buf, start, end);
  let type: number | undefined;
  let addressStart = -1;
  let addressEnd = -1;
  let querySec: number | undefined;
  let queryNsec = 0;
  let responseSec: number | undefined;
  let responseNsec = 0;
  let responseStart = -1;
  let responseEnd = -1;
  while (r.at < end) {
    const key = r.key();
    const wire = key & 7;
    switch (Math.floor(key / 8)) {
      case 1:
        expectWire("Message.type", wire, WIRE_VARINT);
        type = r.varint();
        break;
      case 4:
        expectWire("Message.query_address", wire, WIRE_BYTES);
        r.bytes();
        addressStart = r.fieldStart;
        addressEnd = r.at;
        break;
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
      case 14:
        expectWire("Message.response_message", wire, WIRE_BYTES);
        r.bytes();
        responseStart = r.fieldStart;
        responseEnd = r.at;
        break;
      default:
        r.skip(wire);
    }
  }
  if (type === undefined) throw new DnstapError("Message without its required type");
  const sec = responseSec ?? querySec;
  const nsec = responseSec !== undefined ? responseNsec : queryNsec;
  // Views are only made for what is kept (queries, half of a stream, need none), and every
  // message has the same shape.
  const response = type === MESSAGE_TYPE.CLIENT_RESPONSE;
  return {
    type,
    queryAddress:
      response && addressStart >= 0 ? buf.subarray(addressStart, addressEnd) : undefined,
    timeMs: sec === undefined ? undefined : sec * 1000 + Math.floor(nsec / 1e6),
    responseMessage:
      response && responseStart >= 0 ? buf.subarray(responseStart, responseEnd) : undefined,
  };
}

/**
 * Reads a dnstap.Dnstap frame. Returns undefined for a frame without a Message (dnstap's
 * only type is MESSAGE; others are for future use and are skipped).
 */
export function decodeDnstap(
  frame: Uint8Array,
  start = 0,
  end = frame.length,
): DnstapMessage | undefined {
  const r = frameReader.reset(frame, start, end);
  let type: number | undefined;
  let messageStart = -1;
  let messageEnd = -1;
  while (r.at < end) {
    const key = r.key();
    const field = Math.floor(key / 8);
    if (field === 15) {
      expectWire("Dnstap.type", key & 7, WIRE_VARINT);
      type = r.varint();
    } else if (field === 14) {
      expectWire("Dnstap.message", key & 7, WIRE_BYTES);
      r.bytes();
      messageStart = r.fieldStart;
      messageEnd = r.at;
    } else r.skip(key & 7);
  }
  if (type === undefined) throw new DnstapError("Dnstap frame without its required type");
  if (type !== 1 || messageStart < 0) return undefined;
  return readMessage(frame, messageStart, messageEnd);
}
