// A js-libp2p gossipsub peer for the hyphae interop tests (npm @libp2p/gossipsub 17 on
// libp2p 3), driven through the line contract written out at the top of
// interop/tests/gossip_mixed.rs (keep the two, and interop/src/gossip.rs, equal):
//
//   node gossip-peer.mjs [--listen <multiaddr>] [--validate] [--score <topic>]
//
// TCP + Noise + Yamux, identify (js-libp2p tells gossipsub of a peer once identify showed it
// speaks /meshsub/*) and gossipsub with its defaults, except:
// - message ids: the author's peer id (multihash) bytes followed by the 8 seqno bytes,
//   go-libp2p's default and hyphae's for StrictSign, instead of js's own (the author's
//   protobuf public key followed by the seqno); ids are written in hex;
// - --validate: a topic validator rejects messages whose data starts with `invalid` (P4 for
//   whoever sent them); without it every message is accepted;
// - scoring: js-libp2p always scores peers. With --score <topic> it runs the parameters of
//   interop/src/gossip.rs `score` for that topic; without it, every weight is 0 (its defaults
//   would penalise our ten peers on 127.0.0.1 for IP colocation, and GRAFTs in a backoff).
//
// Only contract lines go to stdout; errors go to stderr (DEBUG=libp2p:gossipsub* for its logs).
//
// What js-libp2p exposes: mesh (getMeshPeers), score (getScore), peers (the protocol of each
// peer's gossipsub streams), publish answers without an id (its publish does not return one).
// IDONTWANT is counted per peer, both ways, by wrapping two of the router's methods on this
// one instance (handleIdontwant for what arrives, sendRpcInBatch/sendRpc for what leaves):
// gossipsub offers no count per peer otherwise. It sends IDONTWANT, for a first-seen message
// whose data is at least idontwantMinDataSize (512) bytes, to its mesh peers that negotiated
// /meshsub/1.2.0, before validating it. It speaks /meshsub/1.2.0 at most (not 1.3.0).
//
// Node 20: as node-peer.mjs explains, js-libp2p 3 needs Promise.withResolvers, defined here
// before js-libp2p loads.

if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const { createInterface } = await import('node:readline')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { gossipsub, TopicValidatorResult } = await import('@libp2p/gossipsub')
const { identify } = await import('@libp2p/identify')
const { tcp } = await import('@libp2p/tcp')
const { multiaddr } = await import('@multiformats/multiaddr')
const { createLibp2p } = await import('libp2p')

const AGENT_VERSION = 'js-gossip-peer'
const STOP_TIMEOUT_MS = 5_000
const DIAL_TIMEOUT_MS = 30_000
const INVALID_PREFIX = 'invalid'
const USAGE = 'usage: node gossip-peer.mjs [--listen <multiaddr>] [--validate] [--score <topic>]'

// interop/src/gossip.rs `score`, repeated (times in milliseconds).
const SCORE = {
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.99,
  topicWeight: 1,
  decayInterval: 1000,
  decayToZero: 0.01,
  retainScore: 600_000,
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 5
}

function emit (value) {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

function toHex (bytes) {
  return Buffer.from(bytes).toString('hex')
}

// The contract's message id: the author's peer id bytes, then the seqno as 8 big-endian bytes.
function messageId (msg) {
  if (msg.type !== 'signed') throw new Error('expected a signed message')
  const from = msg.from.toMultihash().bytes
  const id = new Uint8Array(from.length + 8)
  id.set(from, 0)
  new DataView(id.buffer).setBigUint64(from.length, BigInt.asUintN(64, msg.sequenceNumber))
  return id
}

function parseOptions (args) {
  const options = { listen: '/ip4/127.0.0.1/tcp/0', validate: false, scoreTopic: null }
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]
    if (flag === '--validate') {
      options.validate = true
      continue
    }
    const value = args[++i]
    if (value == null) throw new Error(`${flag} needs a value\n${USAGE}`)
    switch (flag) {
      case '--listen':
        options.listen = value
        break
      case '--score':
        options.scoreTopic = value
        break
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`)
    }
  }
  return options
}

// Weights all 0 (no --score), or P4 alone on `topic` (see interop/src/gossip.rs).
function scoring (topic) {
  const neutral = {
    appSpecificWeight: 0,
    IPColocationFactorWeight: 0,
    behaviourPenaltyWeight: 0,
    decayInterval: SCORE.decayInterval,
    decayToZero: SCORE.decayToZero,
    retainScore: SCORE.retainScore
  }
  const thresholds = {
    gossipThreshold: SCORE.gossipThreshold,
    publishThreshold: SCORE.publishThreshold,
    graylistThreshold: SCORE.graylistThreshold,
    acceptPXThreshold: SCORE.acceptPXThreshold,
    opportunisticGraftThreshold: SCORE.opportunisticGraftThreshold
  }
  if (topic == null) return { scoreParams: { ...neutral, topics: {} }, scoreThresholds: thresholds }
  return {
    scoreParams: {
      ...neutral,
      topics: {
        [topic]: {
          topicWeight: SCORE.topicWeight,
          timeInMeshWeight: 0,
          firstMessageDeliveriesWeight: 0,
          meshMessageDeliveriesWeight: 0,
          meshFailurePenaltyWeight: 0,
          invalidMessageDeliveriesWeight: SCORE.invalidMessageDeliveriesWeight,
          invalidMessageDeliveriesDecay: SCORE.invalidMessageDeliveriesDecay
        }
      }
    },
    scoreThresholds: thresholds
  }
}

// Counts the ids of IDONTWANT messages per peer, received and sent, by wrapping the router's
// own methods on this instance (see the top of this file).
function countIdontwant (pubsub) {
  const receivedFrom = new Map()
  const sentTo = new Map()
  const add = (counts, peer, n) => { if (n > 0) counts.set(peer, (counts.get(peer) ?? 0) + n) }
  const ids = (rpc) => (rpc.control?.idontwant ?? [])
    .reduce((n, idontwant) => n + (idontwant.messageIDs?.length ?? 0), 0)

  const handleIdontwant = pubsub.handleIdontwant.bind(pubsub)
  pubsub.handleIdontwant = (peer, idontwant) => {
    add(receivedFrom, peer, idontwant.reduce((n, m) => n + (m.messageIDs?.length ?? 0), 0))
    return handleIdontwant(peer, idontwant)
  }
  const sendRpcInBatch = pubsub.sendRpcInBatch.bind(pubsub)
  pubsub.sendRpcInBatch = (tosend, rpc) => {
    // It drops from `tosend` the peers it could not send to.
    const result = sendRpcInBatch(tosend, rpc)
    const n = ids(rpc)
    for (const peer of tosend) add(sentTo, peer, n)
    return result
  }
  const sendRpc = pubsub.sendRpc.bind(pubsub)
  pubsub.sendRpc = (peer, rpc) => {
    const sent = sendRpc(peer, rpc)
    if (sent) add(sentTo, peer, ids(rpc))
    return sent
  }
  return { receivedFrom, sentTo }
}

async function startNode (options) {
  return createLibp2p({
    addresses: { listen: [options.listen] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    nodeInfo: { userAgent: AGENT_VERSION },
    // Every peer of a test shares the loopback address: js-libp2p would otherwise refuse a
    // host's sixth inbound connection within a second (inboundConnectionThreshold, 5), and
    // the hyphae peers lift their per-address caps alike (rust-libp2p keeps none by default).
    connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictSign',
        msgIdFn: messageId,
        msgIdToStrFn: toHex,
        ...scoring(options.scoreTopic)
      })
    }
  })
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

// The protocol of the gossipsub streams open to `peer` (the outbound one if both exist).
function protocolOf (node, peer) {
  let protocol = null
  for (const connection of node.getConnections(peer)) {
    for (const stream of connection.streams) {
      if (stream.protocol?.startsWith('/meshsub/') !== true) continue
      if (protocol == null || stream.direction === 'outbound') protocol = stream.protocol
    }
  }
  return protocol
}

const validator = (_peer, msg) => new TextDecoder().decode(msg.data).startsWith(INVALID_PREFIX)
  ? TopicValidatorResult.Reject
  : TopicValidatorResult.Accept

// Runs one command line; every command is answered with one line.
async function runCommand (node, options, counts, line) {
  const pubsub = node.services.pubsub
  const space = line.indexOf(' ')
  const verb = space === -1 ? line : line.slice(0, space)
  const rest = space === -1 ? '' : line.slice(space + 1)
  const one = (what) => {
    if (rest === '' || rest.includes(' ')) throw new Error(`${verb} needs one ${what}`)
    return rest
  }
  const none = () => {
    if (rest !== '') throw new Error(`${verb} takes no argument`)
  }

  switch (verb) {
    case 'dial': {
      const connection = await node.dial(multiaddr(one('multiaddr')), {
        signal: AbortSignal.timeout(DIAL_TIMEOUT_MS)
      })
      emit({ event: 'dial', peer: connection.remotePeer.toString() })
      break
    }
    case 'subscribe': {
      const topic = one('topic')
      if (options.validate) pubsub.topicValidators.set(topic, validator)
      pubsub.subscribe(topic)
      emit({ event: 'subscribe', topic })
      break
    }
    case 'publish': {
      const split = rest.indexOf(' ')
      if (split <= 0 || split === rest.length - 1) throw new Error('publish needs a topic and data')
      const topic = rest.slice(0, split)
      await pubsub.publish(topic, new TextEncoder().encode(rest.slice(split + 1)))
      emit({ event: 'publish', topic, id: null })
      break
    }
    case 'mesh': {
      const topic = one('topic')
      emit({ event: 'mesh', topic, peers: pubsub.getMeshPeers(topic) })
      break
    }
    case 'score': {
      const peer = one('peer id')
      emit({ event: 'score', peer, score: pubsub.getScore(peer) })
      break
    }
    case 'peers': {
      none()
      const peers = {}
      for (const peer of pubsub.getPeers()) peers[peer.toString()] = protocolOf(node, peer)
      emit({ event: 'peers', peers })
      break
    }
    case 'idontwant': {
      none()
      const total = (counts) => [...counts.values()].reduce((a, b) => a + b, 0)
      emit({
        event: 'idontwant',
        received: { messages: null, ids: total(counts.receivedFrom) },
        sent: { ids: total(counts.sentTo) },
        received_from: Object.fromEntries(counts.receivedFrom),
        sent_to: Object.fromEntries(counts.sentTo)
      })
      break
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(line)}`)
  }
}

async function main (args) {
  const options = parseOptions(args)
  const node = await startNode(options)
  const pubsub = node.services.pubsub
  const counts = countIdontwant(pubsub)
  const addr = node.getMultiaddrs()[0]
  if (addr == null) throw new Error('no listen address')
  const text = addr.toString()
  const at = text.lastIndexOf('/p2p/')
  emit({ event: 'listening', peer: node.peerId.toString(), addr: at === -1 ? text : text.slice(0, at) })

  pubsub.addEventListener('gossipsub:message', ({ detail }) => {
    const { msg, msgId, propagationSource } = detail
    emit({
      event: 'message',
      topic: msg.topic,
      data: new TextDecoder().decode(msg.data),
      source: msg.type === 'signed' ? msg.from.toString() : null,
      from: propagationSource.toString(),
      id: msgId
    })
  })

  process.on('SIGTERM', () => { stopNode(node).finally(() => process.exit(0)) })
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const rawLine of lines) {
    const line = rawLine.trim()
    if (line === '') continue
    if (line === 'quit') break
    try {
      await runCommand(node, options, counts, line)
    } catch (err) {
      emit({ event: 'error', message: String(err.message ?? err).replaceAll('\n', ' ') })
    }
  }
  await stopNode(node)
  process.exit(0)
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`gossip-peer: ${err.stack ?? err}\n`)
  process.exit(1)
})
