// A js-libp2p Kademlia peer for the hyphae interop tests (npm @libp2p/kad-dht on libp2p 3),
// driven through the line contract that interop/src/kad.rs documents (keep the two equal):
//
//   node kad-peer.mjs [--listen <multiaddr>] [--bootstrap <multiaddr>/p2p/<id>]...
//                     [--mode server|client]
//
// TCP + Noise + Yamux, identify, ping (kad-dht requires it: it pings every new contact
// over /ipfs/ping/1.0.0 before adding it to its routing table) and kad-dht on /ipfs/kad/1.0.0.
// It prints `LISTEN <multiaddr>/p2p/<id>`, connects to each bootstrap peer, adds it to the
// routing table, runs a self-lookup and prints `READY`; then answers one command per stdin
// line (provide, find-providers, put, get, find-peer, closest, table), each within 30 s, and
// exits 0 when stdin closes. Only answers go to stdout; errors go to stderr (set
// DEBUG=libp2p:kad-dht* for kad-dht's logs).
//
// What kad-dht needs told, beyond its defaults:
// - `clientMode: false` for server mode (left unset it starts as a client and turns server
//   only once it has a public address, which loopback never is);
// - `peerInfoMapper: passthroughMapper`: the default drops private addresses (127.0.0.1
//   among them) from every peer it learns of and gives out, so no loopback peer would ever
//   enter its routing table;
// - a validator and a selector for the `example` namespace: kad-dht refuses to store or
//   return a record of a namespace it has no validator for.
//
// Keys and the bytes on the wire. A `<key>` is UTF-8 text, or `hex:<hex digits>` for raw
// bytes. `put`, `get` and `closest` send the key's bytes as the DHT key. kad-dht provides
// and finds providers of CIDs only, and sends a CID's multihash as the DHT key, so:
// - a text key becomes CIDv1(raw, sha2-256(UTF-8 bytes of the key)), and the wire key is that
//   multihash: 0x12 0x20 followed by the 32-byte sha2-256 digest;
// - a `hex:` key must be a multihash already (it becomes CIDv1(raw, that multihash)) and is
//   sent as it is.
// Both answers carry the hex of that wire key: `PROVIDED <hex>`, `END <hex>`. Note that
// kad-dht's ADD_PROVIDER and GET_PROVIDERS handlers decode the key as a CID and reject the
// request otherwise, so in practice it serves provider records only for sha2-256 multihashes.
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
const { identify } = await import('@libp2p/identify')
const { kadDHT, passthroughMapper } = await import('@libp2p/kad-dht')
const { peerIdFromString } = await import('@libp2p/peer-id')
const { ping } = await import('@libp2p/ping')
const { tcp } = await import('@libp2p/tcp')
const { multiaddr } = await import('@multiformats/multiaddr')
const { createLibp2p } = await import('libp2p')
const { CID } = await import('multiformats/cid')
const raw = await import('multiformats/codecs/raw')
const Digest = await import('multiformats/hashes/digest')
const { sha256 } = await import('multiformats/hashes/sha2')

const AGENT_VERSION = 'js-kad-peer'
const PROTOCOL = '/ipfs/kad/1.0.0'
const COMMAND_TIMEOUT_MS = 30_000
const COMMAND_BACKSTOP_MS = COMMAND_TIMEOUT_MS + 5_000
const STARTUP_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 5_000
const HEX_KEY_PREFIX = 'hex:'
const USAGE = 'usage: node kad-peer.mjs [--listen <multiaddr>] ' +
  '[--bootstrap <multiaddr>/p2p/<id>]... [--mode server|client]'

function print (line) {
  process.stdout.write(`${line}\n`)
}

function toHex (bytes) {
  return Buffer.from(bytes).toString('hex')
}

// The bytes of a command's <key>: `hex:` and an even number of hex digits, or UTF-8 text.
function parseKey (text) {
  if (!text.startsWith(HEX_KEY_PREFIX)) {
    return new TextEncoder().encode(text)
  }
  const digits = text.slice(HEX_KEY_PREFIX.length)
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(digits)) {
    throw new Error('a hex: key needs a non-empty, even number of hex digits')
  }
  return Uint8Array.from(Buffer.from(digits, 'hex'))
}

// The CID that kad-dht provides for <key> (see the top of this file); its multihash is the
// wire key.
async function providerCid (text) {
  const bytes = parseKey(text)
  if (!text.startsWith(HEX_KEY_PREFIX)) {
    return CID.createV1(raw.code, await sha256.digest(bytes))
  }
  try {
    return CID.createV1(raw.code, Digest.decode(bytes))
  } catch (err) {
    throw new Error(`${text} is not a multihash, and kad-dht provides CIDs only: ${err.message}`)
  }
}

function parseOptions (args) {
  const options = { listen: '/ip4/127.0.0.1/tcp/0', bootstrap: [], mode: 'server' }
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]]
    if (value == null) throw new Error(`${flag} needs a value\n${USAGE}`)
    switch (flag) {
      case '--listen':
        options.listen = value
        break
      case '--bootstrap': {
        const addr = multiaddr(value)
        if (addr.getComponents().at(-1)?.name !== 'p2p') {
          throw new Error(`--bootstrap ${value} does not end in /p2p/<id>`)
        }
        options.bootstrap.push(addr)
        break
      }
      case '--mode':
        if (value !== 'server' && value !== 'client') {
          throw new Error(`--mode ${value}: expected server or client`)
        }
        options.mode = value
        break
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`)
    }
  }
  return options
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
      ping: ping(),
      dht: kadDHT({
        protocol: PROTOCOL,
        clientMode: options.mode === 'client',
        peerInfoMapper: passthroughMapper,
        // Every record of the example namespace is valid; of several, the first is chosen.
        validators: { example: async () => {} },
        selectors: { example: () => 0 }
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

// An address without its /p2p/<id> suffix, as the PEER answer gives addresses.
function withoutPeerId (addr) {
  const text = addr.toString()
  const at = text.lastIndexOf('/p2p/')
  return at === -1 ? text : text.slice(0, at)
}

// Connects to each bootstrap peer, adds it to the routing table (kad-dht pings it first)
// and looks up our own id.
async function bootstrap (node, addrs, signal) {
  const dht = node.services.dht
  for (const addr of addrs) {
    const connection = await node.dial(addr, { signal })
    await dht.routingTable.add(connection.remotePeer, { signal })
    if (await dht.routingTable.find(connection.remotePeer) == null) {
      throw new Error(`bootstrap peer ${connection.remotePeer} did not enter the routing table ` +
        '(it did not answer our ping)')
    }
  }
  if (addrs.length > 0) {
    for await (const _ of dht.getClosestPeers(node.peerId.toMultihash().bytes, { signal })) {
      // Only the lookup's side effect, a routing table filled around our own id, matters.
    }
  }
}

// Runs one command line, printing its answer through `answer` (see main).
async function runCommand (node, line, answer) {
  const dht = node.services.dht
  const space = line.indexOf(' ')
  const name = space === -1 ? line : line.slice(0, space)
  const rest = space === -1 ? '' : line.slice(space + 1)
  const oneKey = () => {
    if (rest === '' || rest.includes(' ')) throw new Error(`${name} needs one key`)
    return rest
  }
  const signal = AbortSignal.timeout(COMMAND_TIMEOUT_MS)

  switch (name) {
    case 'provide': {
      const cid = await providerCid(oneKey())
      try {
        for await (const _ of dht.provide(cid, { signal })) {
          // kad-dht reports each peer it sent the record to; the answer is the same.
        }
      } catch (err) {
        if (signal.aborted) throw new Error(`timed out after ${COMMAND_TIMEOUT_MS} ms`)
        throw err
      }
      answer(`PROVIDED ${toHex(cid.multihash.bytes)}`)
      break
    }
    case 'find-providers': {
      const cid = await providerCid(oneKey())
      const found = new Set()
      try {
        for await (const event of dht.findProviders(cid, { signal })) {
          if (event.name !== 'PROVIDER') continue
          for (const provider of event.providers) {
            const id = provider.id.toString()
            if (!found.has(id)) {
              found.add(id)
              answer(`PROVIDER ${id}`)
            }
          }
        }
      } catch (err) {
        if (!signal.aborted) throw err
      }
      answer(`END ${toHex(cid.multihash.bytes)}`)
      break
    }
    case 'put': {
      const split = rest.indexOf(' ')
      if (split <= 0) throw new Error('put needs a key and a value')
      const key = parseKey(rest.slice(0, split))
      const value = new TextEncoder().encode(rest.slice(split + 1))
      // kad-dht's put only reports per peer; it succeeds here, as rust-libp2p's with
      // Quorum::One, when one peer echoed the record back.
      let stored = 0
      try {
        for await (const event of dht.put(key, value, { signal })) {
          if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE' &&
              event.record != null && Buffer.from(event.record.value).equals(Buffer.from(value))) {
            stored++
          }
        }
      } catch (err) {
        if (!signal.aborted) throw err
      }
      answer(stored > 0 ? 'PUT' : 'ERROR no peer stored the record')
      break
    }
    case 'get': {
      let value
      try {
        for await (const event of dht.get(parseKey(oneKey()), { signal })) {
          if (event.name === 'VALUE') value = event.value
        }
      } catch (err) {
        if (!signal.aborted && err.name !== 'NotFoundError') throw err
      }
      answer(value == null ? 'NOTFOUND' : `VALUE ${new TextDecoder().decode(value)}`)
      break
    }
    case 'find-peer': {
      let target
      try {
        target = peerIdFromString(oneKey())
      } catch (err) {
        throw new Error(`find-peer ${JSON.stringify(rest)}: ${err.message}`)
      }
      let found
      try {
        // useCache: false asks the network even when the peer store knows the answer.
        for await (const event of dht.findPeer(target, { signal, useCache: false })) {
          if (event.name === 'FINAL_PEER' && event.peer.id.equals(target)) {
            found = event.peer
            break
          }
        }
      } catch (err) {
        if (!signal.aborted && err.name !== 'NotFoundError') throw err
      }
      answer(found == null
        ? 'NOTFOUND'
        : ['PEER', target.toString(), ...found.multiaddrs.map(withoutPeerId)].join(' '))
      break
    }
    case 'closest': {
      const ids = []
      try {
        for await (const event of dht.getClosestPeers(parseKey(oneKey()), { signal })) {
          if (event.name === 'FINAL_PEER') ids.push(event.peer.id.toString())
        }
      } catch (err) {
        if (!signal.aborted) throw err
      }
      answer(['CLOSEST', ...ids].join(' '))
      break
    }
    case 'table': {
      if (rest !== '') throw new Error('table takes no argument')
      // kad-dht keeps its k-buckets in `routingTable.kb`, the only way to list them.
      const ids = [...dht.routingTable.kb.toIterable()].map((peer) => peer.peerId.toString())
      answer(['TABLE', ...ids].join(' '))
      break
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(line)}`)
  }
}

async function main (args) {
  const options = parseOptions(args)
  const node = await startNode(options)
  const peerId = node.peerId.toString()
  const addr = node.getMultiaddrs()[0]
  if (addr == null) throw new Error('no listen address')
  print(`LISTEN ${withoutPeerId(addr)}/p2p/${peerId}`)

  await bootstrap(node, options.bootstrap, AbortSignal.timeout(STARTUP_TIMEOUT_MS))
  print('READY')

  process.on('SIGTERM', () => { stopNode(node).finally(() => process.exit(0)) })
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const rawLine of lines) {
    const line = rawLine.trim()
    if (line === '') continue
    // Every kad-dht call gets a 30 s abort signal. Should one not heed it, the command is
    // answered with ERROR after a grace period, and whatever it prints later is dropped so
    // that it cannot be taken for the answer to the next command.
    let isOpen = true
    const answer = (text) => { if (isOpen) print(text) }
    let timer
    const backstop = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${COMMAND_BACKSTOP_MS} ms`)),
        COMMAND_BACKSTOP_MS)
    })
    const running = runCommand(node, line, answer)
    running.catch(() => {}) // reported below, unless the backstop answered first
    try {
      await Promise.race([running, backstop])
    } catch (err) {
      answer(`ERROR ${String(err.message ?? err).replaceAll('\n', ' ')}`)
    } finally {
      isOpen = false
      clearTimeout(timer)
    }
  }
  await stopNode(node)
  process.exit(0)
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`kad-peer: ${err.stack ?? err}\n`)
  process.exit(1)
})
