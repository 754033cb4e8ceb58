// bench/mark-start.mjs - preloaded into the lab's load client for the end-to-end workloads
// (`node --import bench/mark-start.mjs smtpload.mjs ...`): prints `BENCH_T0 <epoch ms>` on stderr
// when the client opens its first connection, i.e. when it starts sending its first message
// (smtpload takes its own start time right before that and counts its elapsedMs from there).
// run.mjs measures end-to-end times from this mark rather than from spawning the client, so that
// Node's start-up is not counted. The client itself is used unchanged.
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const connect = net.connect;
let marked = false;
net.connect = function markedConnect(...args) {
  if (!marked) {
    marked = true;
    process.stderr.write(`BENCH_T0 ${(performance.timeOrigin + performance.now()).toFixed(3)}\n`);
  }
  return connect.apply(this, args);
};
