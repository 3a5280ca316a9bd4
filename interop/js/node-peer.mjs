// A js-libp2p peer for the hyphae interop tests: TCP, Noise, Yamux, ping and identify, as the
// npm releases of libp2p, @chainsafe/libp2p-noise, @chainsafe/libp2p-yamux, @libp2p/tcp,
// @libp2p/ping and @libp2p/identify ship them (no options beyond the agent version).
//
//   node node-peer.mjs listen        listen on /ip4/127.0.0.1/tcp/0; print
//                                    `LISTEN <multiaddr>/p2p/<id>`; run until stdin closes or
//                                    SIGTERM/SIGINT
//   node node-peer.mjs dial <ADDR>   dial ADDR, ping it once (`PING <rtt ms>`), wait up to 10 s
//                                    for its identify, stay connected until stdin closes (so
//                                    the dialled node can finish identifying this one), then
//                                    exit 0 (1 on any failure)
//
// The PING time is measured here with performance.now() around the ping call, in fractional
// milliseconds: js-libp2p's own result is in whole milliseconds, 0 on loopback, which no test
// could tell from a ping that never happened.
//
// An identify of a remote peer prints one line
//   IDENTIFIED {"peer":"<id>","agent":"<agent version>","protocols":[...]}
// as it happens when listening; when dialling, the one about the dialled peer, always after the
// PING line (identify usually finishes first), so readers can expect that order.
// Only these lines go to stdout; errors go to stderr (set DEBUG=libp2p:* for js-libp2p's logs).
//
// Node 20: js-libp2p 3 (and the mortice/it-queue locks under js-libp2p 2 as well) call
// Promise.withResolvers, which V8 ships from node 22 on. Node 20 is what the machines have, so
// this script defines it, exactly as ES2024 specifies it, before loading js-libp2p; on node 22
// and later the built-in one is used. libp2p itself is pinned to 3.2.0 because later 3.x
// releases depend on p-retry 8, whose package.json requires node 22.

if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

// Loaded after the definition above (static imports would be evaluated before it).
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { identify } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { tcp } = await import('@libp2p/tcp')
const { multiaddr } = await import('@multiformats/multiaddr')
const { createLibp2p } = await import('libp2p')

const AGENT_VERSION = 'js-interop-peer'
const IDENTIFY_TIMEOUT_MS = 10_000
const STOP_TIMEOUT_MS = 5_000
const USAGE = 'usage: node node-peer.mjs listen\n       node node-peer.mjs dial <MULTIADDR>'

function print (line) {
  process.stdout.write(`${line}\n`)
}

function identifiedLine (result) {
  return `IDENTIFIED ${JSON.stringify({
    peer: result.peerId.toString(),
    agent: result.agentVersion ?? null,
    protocols: result.protocols
  })}`
}

async function startNode (listen) {
  const node = await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    nodeInfo: { userAgent: AGENT_VERSION },
    services: {
      identify: identify(),
      ping: ping()
    }
  })
  return node
}

// Stops `node`, giving up after STOP_TIMEOUT_MS so a stuck close cannot keep the process alive.
async function stopNode (node) {
  let timer
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, STOP_TIMEOUT_MS) })
  try {
    await Promise.race([node.stop(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function listen () {
  const node = await startNode(['/ip4/127.0.0.1/tcp/0'])
  node.addEventListener('peer:identify', (event) => { print(identifiedLine(event.detail)) })
  const peerId = node.peerId.toString()
  const addr = node.getMultiaddrs()
    .map((ma) => ma.toString())
    .find((ma) => ma.startsWith('/ip4/127.0.0.1/tcp/'))
  if (addr == null) {
    throw new Error(`no TCP listen address among ${node.getMultiaddrs().join(', ')}`)
  }
  print(`LISTEN ${addr.endsWith(`/p2p/${peerId}`) ? addr : `${addr}/p2p/${peerId}`}`)

  let stopping = false
  const stop = async (why) => {
    if (stopping) return
    stopping = true
    process.stderr.write(`stopping: ${why}\n`)
    await stopNode(node)
    process.exit(0)
  }
  process.stdin.on('end', () => { stop('stdin closed') })
  process.stdin.on('error', () => { stop('stdin failed') })
  process.stdin.resume()
  process.on('SIGTERM', () => { stop('SIGTERM') })
  process.on('SIGINT', () => { stop('SIGINT') })
}

// Resolves when stdin ends or fails: the test is done with this peer.
function stdinClosed () {
  return new Promise((resolve) => {
    process.stdin.on('end', resolve)
    process.stdin.on('error', resolve)
    process.stdin.resume()
  })
}

async function dial (addr) {
  const target = multiaddr(addr)
  const node = await startNode([])
  try {
    // Listen before dialling: identify runs as soon as the connection opens and may finish
    // before the dial returns.
    const identified = new Map()
    let onIdentified = () => {}
    node.addEventListener('peer:identify', (event) => {
      identified.set(event.detail.peerId.toString(), event.detail)
      onIdentified()
    })

    const connection = await node.dial(target)
    const remote = connection.remotePeer.toString()
    const before = performance.now()
    await node.services.ping.ping(target)
    const rtt = performance.now() - before
    print(`PING ${rtt.toFixed(3)}`)

    if (!identified.has(remote)) {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no identify from ${remote} within ${IDENTIFY_TIMEOUT_MS} ms`))
        }, IDENTIFY_TIMEOUT_MS)
        onIdentified = () => {
          if (identified.has(remote)) {
            clearTimeout(timer)
            resolve()
          }
        }
      })
    }
    print(identifiedLine(identified.get(remote)))
    await stdinClosed()
  } finally {
    await stopNode(node)
  }
}

async function main (args) {
  switch (args[0]) {
    case 'listen':
      if (args.length !== 1) throw new Error(USAGE)
      await listen()
      break
    case 'dial':
      if (args.length !== 2) throw new Error(USAGE)
      await dial(args[1])
      process.exit(0)
      break
    default:
      throw new Error(USAGE)
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`node-peer: ${err.stack ?? err}\n`)
  process.exit(1)
})
