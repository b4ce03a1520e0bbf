/**
 * How the job's TLS sockets got their bytes, seen from inside the job's process: a probe preloaded
 * with `node --require` wraps tls.connect and records, for each socket, whether it was given
 * `onread` (socketRead.ts's read path), the bytes that reached the onread callback, the 'data'
 * events it emitted (and their bytes), the most 'data' listeners it had, and the request lines
 * written on it. The records are written as JSON lines to $KR_TLS_PROBE when the process exits.
 * Nothing in the job's code knows about it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

const PROBE = `
const fs = require('node:fs');
const tls = require('node:tls');
const out = process.env.KR_TLS_PROBE;
const records = [];
const connect = tls.connect;
tls.connect = function (...args) {
  const options = args.find(a => a !== null && typeof a === 'object');
  const record = {
    onread: false, onreadBytes: 0, dataEvents: 0, dataBytes: 0, dataListeners: 0, requests: [],
  };
  records.push(record);
  const given = options && options.onread;
  if (given && typeof given.callback === 'function') {
    record.onread = true;
    options.onread = {
      ...given,
      callback(n, buf) {
        record.onreadBytes += n;
        return given.callback.call(this, n, buf);
      },
    };
  }
  const socket = connect.apply(this, args);
  const listeners = () => {
    record.dataListeners = Math.max(record.dataListeners, socket.listenerCount('data'));
  };
  const write = socket.write;
  socket.write = function (chunk, ...rest) {
    const head = typeof chunk === 'string' ? chunk.slice(0, 300) : Buffer.from(chunk).toString('latin1', 0, 300);
    const line = /^([A-Z]+) (\\S+) HTTP\\/1\\.1\\r\\n/.exec(head);
    if (line) record.requests.push(line[1] + ' ' + line[2]);
    listeners();
    return write.call(this, chunk, ...rest);
  };
  const emit = socket.emit;
  socket.emit = function (event, ...rest) {
    if (event === 'data') {
      record.dataEvents++;
      record.dataBytes += rest[0] ? rest[0].length : 0;
    }
    if (event === 'close') listeners();
    return emit.call(this, event, ...rest);
  };
  return socket;
};
process.on('exit', () => {
  fs.writeFileSync(out, records.map(r => JSON.stringify(r) + '\\n').join(''));
});
`;

/** One TLS socket of the job, as the probe saw it. */
export interface TlsSocketRecord {
  /** tls.connect was given `onread`. */
  onread: boolean;
  /** Bytes delivered through the onread callback. */
  onreadBytes: number;
  /** 'data' events the socket emitted, and their bytes. */
  dataEvents: number;
  dataBytes: number;
  /** The most 'data' listeners it had when a request was written or it closed. */
  dataListeners: number;
  /** Request lines written on it ("GET /bucket/key?..."). */
  requests: string[];
}

export interface TlsReadProbe {
  nodeArgs: string[];
  env: Record<string, string>;
  /** The records of the run's TLS sockets (after the job's process exited). */
  sockets(): Promise<TlsSocketRecord[]>;
}

/** Writes the probe into `dir`; its records go to `recordsName` there. */
export async function tlsReadProbe(
  dir: string,
  recordsName: string,
): Promise<TlsReadProbe> {
  const probe = path.join(dir, 'tls-probe.cjs');
  const recordsFile = path.join(dir, recordsName);
  await fsp.writeFile(probe, PROBE);
  return {
    nodeArgs: ['--require', probe],
    env: { KR_TLS_PROBE: recordsFile },
    sockets: async () =>
      (await fsp.readFile(recordsFile, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map(l => JSON.parse(l)),
  };
}
