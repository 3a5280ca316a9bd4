// js-libp2p in the libp2p transport-interop harness (libp2p/test-plans `transport-interop`, and
// its successor libp2p/unified-testing `transport`): the same contract as
// `interop/src/bin/hyphae-interop.rs`, for the npm releases of js-libp2p.
//
//   node interop.mjs        configured by the environment only:
//
//   test-plans:      transport, security, muxer, is_dialer, ip, redis_addr, test_timeout_seconds
//                    key `listenerAddr`; the dialer prints one JSON line
//                    {"handshakePlusOneRTTMillis": <ms>, "pingRTTMilllis": <ms>}
//   unified-testing: TRANSPORT, SECURE_CHANNEL, MUXER, IS_DIALER, LISTENER_IP, REDIS_ADDR, TEST_KEY
//                    (chosen when TRANSPORT is set); key `<TEST_KEY>_listener_multiaddr`; the
//                    dialer prints YAML `latency:` with handshake_plus_one_rtt, ping_rtt, unit ms
//
// The listener RPUSHes `<addr>/p2p/<id>` to the key and serves until it is killed (or the
// timeout expires); the dialer BLPOPs the key, dials, pings once, prints its result and exits 0.
// Only the result goes to stdout; logs and errors go to stderr; any failure exits 1.
//
// Beyond the contract, as every peer program of this repository (interop/src/checks.rs, whose
// constants and payload generator are repeated below): the listener serves the echo protocol,
// and the dialer, after printing its result, checks the listener's identify (it announces ping,
// identify and echo, and lists the dialled address) and sends 1 MiB through the echo.
//
// Supported: transports tcp and ws, security noise and tls, muxers yamux and mplex. Anything else is
// refused with `unsupported combination` on stderr and exit status 1.
//
// Node 20: js-libp2p 3 calls Promise.withResolvers, which V8 ships from node 22 on; as in
// node-peer.mjs, it is defined here (as ES2024 specifies it) before js-libp2p is loaded.

if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

// Node 20 has no global WebSocket (node 22 does), which @libp2p/websockets dials with; the `ws`
// package's client is the same WHATWG-style API, so it stands in for it there.
if (typeof globalThis.WebSocket !== 'function') {
  globalThis.WebSocket = (await import('ws')).WebSocket
}

const net = await import('node:net')

// The checks after the ping: the same values as interop/src/checks.rs.
const ECHO_PROTOCOL = '/interop/echo/1.0.0'
const ECHO_BYTES = 1 << 20
const EXPECTED_PROTOCOLS = ['/ipfs/ping/1.0.0', '/ipfs/id/1.0.0', ECHO_PROTOCOL]
const PAYLOAD_SEED = 0x9e3779b9
const ECHO_CHUNK = 64 * 1024
const IDENTIFY_TIMEOUT_MS = 30_000

const TRANSPORTS = ['tcp', 'ws']
const SECURITY = ['noise', 'tls']
const MUXERS = ['yamux', 'mplex']
const REDIS_PATIENCE_MS = 30_000

function log (line) {
  process.stderr.write(`${line}\n`)
}

function env (name) {
  const value = process.env[name]
  return value == null || value === '' ? undefined : value
}

function contractFromEnv () {
  const unified = env('TRANSPORT') != null
  const pick = (testPlans, unifiedName) => env(unified ? unifiedName : testPlans)
  const transport = pick('transport', 'TRANSPORT')
  if (transport == null) throw new Error('no transport given')
  let redisKey = 'listenerAddr'
  if (unified) {
    const testKey = env('TEST_KEY')
    if (testKey == null) throw new Error('no TEST_KEY given')
    redisKey = `${testKey}_listener_multiaddr`
  }
  const timeoutText = env('test_timeout_seconds') ?? '180'
  const timeoutSeconds = Number(timeoutText)
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new Error(`test_timeout_seconds is not a number: ${timeoutText}`)
  }
  return {
    convention: unified ? 'unified' : 'test-plans',
    transport,
    security: pick('security', 'SECURE_CHANNEL'),
    muxer: pick('muxer', 'MUXER'),
    isDialer: pick('is_dialer', 'IS_DIALER') === 'true',
    ip: pick('ip', 'LISTENER_IP') ?? '0.0.0.0',
    redisAddr: pick('redis_addr', 'REDIS_ADDR') ?? 'redis:6379',
    redisKey,
    timeoutMs: timeoutSeconds * 1000
  }
}

function checkSupported (contract) {
  const ok = TRANSPORTS.includes(contract.transport) &&
    (contract.security == null || SECURITY.includes(contract.security)) &&
    (contract.muxer == null || MUXERS.includes(contract.muxer))
  if (!ok) {
    throw new Error(`unsupported combination: transport ${contract.transport}, security ` +
      `${contract.security}, muxer ${contract.muxer} (this js peer supports transports ` +
      `${TRANSPORTS.join('/')}, security ${SECURITY.join('/')}, muxers ${MUXERS.join('/')})`)
  }
}

// --- Redis: RPUSH and BLPOP in RESP2 over one TCP connection ---------------------------------

class Redis {
  constructor (socket) {
    this.socket = socket
    this.buffer = Buffer.alloc(0)
    this.waiting = null
    this.failure = null
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.wake()
    })
    socket.on('error', (err) => { this.failure = err; this.wake() })
    socket.on('close', () => { this.failure ??= new Error('redis closed the connection'); this.wake() })
  }

  static async connect (addr) {
    const colon = addr.lastIndexOf(':')
    if (colon < 0) throw new Error(`redis address ${addr} is not host:port`)
    const host = addr.slice(0, colon)
    const port = Number(addr.slice(colon + 1))
    const deadline = Date.now() + REDIS_PATIENCE_MS
    for (;;) {
      try {
        const socket = await new Promise((resolve, reject) => {
          const socket = net.connect({ host, port })
          socket.once('connect', () => { socket.removeListener('error', reject); resolve(socket) })
          socket.once('error', reject)
        })
        return new Redis(socket)
      } catch (err) {
        if (Date.now() >= deadline) throw new Error(`connecting to redis at ${addr}: ${err.message}`)
        log(`redis at ${addr} not reachable yet: ${err.message}`)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
  }

  wake () {
    const waiting = this.waiting
    this.waiting = null
    if (waiting != null) waiting()
  }

  async command (...args) {
    let request = `*${args.length}\r\n`
    for (const arg of args) request += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`
    this.socket.write(request)
    return await this.reply()
  }

  // One complete reply: parses what has arrived, waiting for more data until it is whole.
  async reply () {
    for (;;) {
      const parsed = parseReply(this.buffer, 0)
      if (parsed != null) {
        this.buffer = this.buffer.subarray(parsed.end)
        if (parsed.value instanceof Error) throw parsed.value
        return parsed.value
      }
      if (this.failure != null) throw this.failure
      await new Promise((resolve) => { this.waiting = resolve })
    }
  }

  async rpush (key, value) {
    await this.command('RPUSH', key, value)
  }

  // The value popped from `key`, waiting up to `timeoutMs` for one.
  async blpop (key, timeoutMs) {
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000))
    const reply = await this.command('BLPOP', key, String(seconds))
    if (reply == null) throw new Error(`no value under ${key} within ${seconds} s`)
    if (!Array.isArray(reply) || reply.length !== 2) {
      throw new Error(`unexpected BLPOP reply ${JSON.stringify(reply)}`)
    }
    return reply[1]
  }

  close () {
    this.socket.destroy()
  }
}

// `{ value, end }` for the reply starting at `at`, or null if it has not fully arrived.
function parseReply (buffer, at) {
  const lineEnd = buffer.indexOf('\r\n', at)
  if (lineEnd < 0) return null
  const type = String.fromCharCode(buffer[at])
  const line = buffer.toString('utf8', at + 1, lineEnd)
  const next = lineEnd + 2
  switch (type) {
    case '+': return { value: line, end: next }
    case '-': return { value: new Error(`redis: ${line}`), end: next }
    case ':': return { value: Number(line), end: next }
    case '$': {
      const length = Number(line)
      if (length < 0) return { value: null, end: next }
      if (buffer.length < next + length + 2) return null
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 }
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return { value: null, end: next }
      const items = []
      let end = next
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, end)
        if (item == null) return null
        items.push(item.value)
        end = item.end
      }
      return { value: items, end }
    }
    default:
      return { value: new Error(`redis: unexpected reply type ${JSON.stringify(type)}`), end: buffer.length }
  }
}

// --- libp2p ----------------------------------------------------------------------------------

async function startNode (contract, listen) {
  const { identify } = await import('@libp2p/identify')
  const { ping } = await import('@libp2p/ping')
  const { createLibp2p } = await import('libp2p')

  let transport
  if (contract.transport === 'tcp') {
    const { tcp } = await import('@libp2p/tcp')
    transport = tcp()
  } else {
    const { webSockets } = await import('@libp2p/websockets')
    transport = webSockets()
  }
  let encrypter
  if (contract.security === 'tls') {
    const { tls } = await import('@libp2p/tls')
    encrypter = tls()
  } else {
    const { noise } = await import('@chainsafe/libp2p-noise')
    encrypter = noise()
  }
  let muxer
  if (contract.muxer === 'mplex') {
    const { mplex } = await import('@libp2p/mplex')
    muxer = mplex()
  } else {
    const { yamux } = await import('@chainsafe/libp2p-yamux')
    muxer = yamux()
  }
  return await createLibp2p({
    addresses: { listen },
    transports: [transport],
    connectionEncrypters: [encrypter],
    streamMuxers: [muxer],
    connectionManager: { inboundConnectionThreshold: Infinity },
    services: { identify: identify(), ping: ping() }
  })
}

function isLoopback (addr) {
  return addr.startsWith('/ip4/127.') || addr.startsWith('/ip6/::1/')
}

async function listen (contract, redis) {
  const suffix = contract.transport === 'ws' ? '/ws' : ''
  const node = await startNode(contract, [`/ip4/${contract.ip}/tcp/0${suffix}`])
  // Before publishing the address, so that identify announces it to the dialer.
  await node.handle(ECHO_PROTOCOL, serveEcho)
  const peerId = node.peerId.toString()
  const addrs = node.getMultiaddrs()
    .map((ma) => ma.toString())
    .filter((ma) => ma.startsWith('/ip4/'))
  // Inside the harness's containers the loopback address is useless to the dialer; on one
  // machine it may be all there is.
  const addr = addrs.find((ma) => !isLoopback(ma)) ?? addrs[0]
  if (addr == null) {
    throw new Error(`no IPv4 listen address among ${node.getMultiaddrs().join(', ')}`)
  }
  const full = addr.includes('/p2p/') ? addr : `${addr}/p2p/${peerId}`
  log(`listening on ${full}`)
  await redis.rpush(contract.redisKey, full)
  // Serve until the harness stops us (or the timeout in main expires).
  await new Promise(() => {})
}

async function dial (contract, redis) {
  const { multiaddr } = await import('@multiformats/multiaddr')
  const target = multiaddr(await redis.blpop(contract.redisKey, contract.timeoutMs))
  log(`dialling ${target}`)
  const node = await startNode(contract, [])
  // Listen before dialling: identify runs as soon as the connection opens and may finish
  // before the dial returns.
  const identified = new Map()
  let onIdentified = () => {}
  node.addEventListener('peer:identify', (event) => {
    identified.set(event.detail.peerId.toString(), event.detail)
    onIdentified()
  })
  const started = performance.now()
  const connection = await node.dial(target)
  const pingRtt = await node.services.ping.ping(target)
  const handshakePlusOneRtt = performance.now() - started
  if (contract.convention === 'test-plans') {
    // "Milllis" with three l's is what the test-plans parser reads.
    process.stdout.write(`${JSON.stringify({
      handshakePlusOneRTTMillis: handshakePlusOneRtt,
      pingRTTMilllis: pingRtt
    })}\n`)
  } else {
    process.stdout.write('latency:\n' +
      `  handshake_plus_one_rtt: ${handshakePlusOneRtt.toFixed(3)}\n` +
      `  ping_rtt: ${Number(pingRtt).toFixed(3)}\n` +
      '  unit: ms\n')
  }

  const remote = connection.remotePeer.toString()
  if (!identified.has(remote)) {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`identify: nothing from the listener within ${IDENTIFY_TIMEOUT_MS} ms`))
      }, IDENTIFY_TIMEOUT_MS)
      onIdentified = () => {
        if (identified.has(remote)) {
          clearTimeout(timer)
          resolve()
        }
      }
    })
  }
  checkIdentify(identified.get(remote), target.toString())
  await checkEcho(node, target)
}

// --- The checks after the ping (interop/src/checks.rs) -----------------------------------------

// ECHO_BYTES deterministic pseudo-random bytes: xorshift32 (13, 17, 5) from PAYLOAD_SEED, each
// state written little-endian.
function echoPayload () {
  const payload = new Uint8Array(ECHO_BYTES)
  const view = new DataView(payload.buffer)
  let state = PAYLOAD_SEED
  for (let at = 0; at < ECHO_BYTES; at += 4) {
    state = (state ^ (state << 13)) >>> 0
    state = (state ^ (state >>> 17)) >>> 0
    state = (state ^ (state << 5)) >>> 0
    view.setUint32(at, state, true)
  }
  return payload
}

// `addr` without its `/p2p/<id>` part: the transport address.
function transportPart (addr) {
  const at = addr.indexOf('/p2p/')
  return at < 0 ? addr : addr.slice(0, at)
}

// Checks the listener's identify: the EXPECTED_PROTOCOLS, and `dialled` among its listen
// addresses.
function checkIdentify (result, dialled) {
  const protocols = result.protocols ?? []
  const missing = EXPECTED_PROTOCOLS.filter((protocol) => !protocols.includes(protocol))
  if (missing.length > 0) {
    throw new Error(`identify: the listener does not announce ${JSON.stringify(missing)} ` +
      `(it announced ${JSON.stringify(protocols)})`)
  }
  const wanted = transportPart(dialled)
  const addrs = (result.listenAddrs ?? []).map((addr) => addr.toString())
  if (!addrs.some((addr) => transportPart(addr) === wanted)) {
    throw new Error(`identify: the dialled address ${wanted} is not among the listener's ` +
      `listen addresses ${JSON.stringify(addrs)}`)
  }
  log(`identify: the listener announces ${JSON.stringify(EXPECTED_PROTOCOLS)} and listens on ${wanted}`)
}

// Writes back what `stream` carries until its end, then closes it.
async function serveEcho (stream) {
  try {
    for await (const chunk of stream) {
      if (!stream.send(chunk)) await stream.onDrain()
    }
    await stream.close()
  } catch (err) {
    log(`echo: ${err.message}`)
    stream.abort(err)
  }
}

// Sends echoPayload() through the listener's echo, half-closes, reads the echo to its end and
// compares it byte for byte.
async function checkEcho (node, target) {
  const stream = await node.dialProtocol(target, ECHO_PROTOCOL)
  const payload = echoPayload()
  // Both at once: the echo comes back while we write, and would fill every window if left
  // unread.
  const write = async () => {
    for (let at = 0; at < payload.length; at += ECHO_CHUNK) {
      if (!stream.send(payload.subarray(at, at + ECHO_CHUNK))) await stream.onDrain()
    }
    await stream.close()
  }
  const read = async () => {
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk.slice())
    return Buffer.concat(chunks)
  }
  let echoed
  try {
    [, echoed] = await Promise.all([write(), read()])
  } catch (err) {
    throw new Error(`echo: stream failed: ${err.message}`)
  }
  const length = Math.min(payload.length, echoed.length)
  for (let at = 0; at < length; at++) {
    if (payload[at] !== echoed[at]) {
      throw new Error(`echo: byte ${at} came back as ${echoed[at]}, ${payload[at]} was sent ` +
        `(${echoed.length} of ${payload.length} bytes came back)`)
    }
  }
  if (echoed.length !== payload.length) {
    throw new Error(`echo: ${echoed.length} bytes came back for ${payload.length} sent ` +
      `(the first ${length} equal)`)
  }
  log(`echo: ${payload.length} bytes came back intact`)
}

async function main () {
  const contract = contractFromEnv()
  log(JSON.stringify(contract))
  checkSupported(contract)
  const timer = setTimeout(() => {
    log('error: the test timed out')
    process.exit(1)
  }, contract.timeoutMs)
  const redis = await Redis.connect(contract.redisAddr)
  if (contract.isDialer) {
    await dial(contract, redis)
  } else {
    await listen(contract, redis)
  }
  clearTimeout(timer)
  redis.close()
}

main().then(() => {
  // Flush stdout, then exit without waiting for js-libp2p to close its connections.
  process.stdout.write('', () => process.exit(0))
}, (err) => {
  log(`error: ${err.stack ?? err}`)
  process.exit(1)
})
