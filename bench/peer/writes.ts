// OUR ADDITION to the former stack (not part of ../shared/peers/prisma): its server.ts has no writes, so this
// companion serves the two writes `python -m bench peer` times, in server.ts's own style (node:cluster, Prisma
// 7 with @prisma/adapter-pg, the plaintext User.apiKey lookup). Copied into the scratch folder next to
// server.ts by the benchmark. Run: PORT=3001 WORKERS=2 npx tsx writes.ts
// POST /clips {assetId, startTime, endTime, features?, score?}  -> 201, the clip (the caller's live asset only)
// POST /clips/ID/score {score}                                   -> 200, the clip (PENDING/ANALYZED become SCORED)
import 'dotenv/config'
import cluster from 'node:cluster'
import http from 'node:http'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from './generated/prisma/client'

const PORT = Number(process.env.PORT ?? 3001)
const WORKERS = Number(process.env.WORKERS ?? 2)
;(BigInt.prototype as any).toJSON = function () { return Number(this) }

if (cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) cluster.fork()
  cluster.on('exit', (w, code) => console.error(`worker ${w.process.pid} exited ${code}`))
  console.log(`primary ${process.pid}: ${WORKERS} write workers on 127.0.0.1:${PORT}`)
} else {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL! }) })
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
  const unit = (x: unknown) => typeof x === 'number' && x >= 0 && x <= 1

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const json = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) })
    res.end(json)
  }
  const readJson = (req: http.IncomingMessage) => new Promise<any>((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => { try { resolve(JSON.parse(Buffer.concat(chunks).toString() || '{}')) } catch (e) { reject(e) } })
    req.on('error', reject)
  })

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const apiKey = req.headers['x-api-key']
      if (typeof apiKey !== 'string' || !apiKey) return send(res, 401, { detail: 'API key required.' })
      const user = await prisma.user.findUnique({ where: { apiKey } })
      if (!user || user.deletedAt) return send(res, 401, { detail: 'Invalid API key.' })
      if (req.method !== 'POST') return send(res, 405, { detail: 'Method not allowed.' })
      let body: any
      try { body = await readJson(req) } catch { return send(res, 400, { detail: 'Malformed JSON.' }) }

      if (url.pathname === '/clips' || url.pathname === '/clips/') {
        const { assetId, startTime, endTime, features, score } = body
        if (typeof assetId !== 'string' || !UUID.test(assetId)) return send(res, 400, { assetId: ['Must be a valid UUID.'] })
        if (typeof startTime !== 'number' || typeof endTime !== 'number' || startTime < 0 || endTime <= startTime)
          return send(res, 400, { endTime: ['Must be after startTime.'] })
        if (score !== undefined && score !== null && !unit(score)) return send(res, 400, { score: ['0 to 1.'] })
        const asset = await prisma.asset.findFirst({ where: { id: assetId, userId: user.id, deletedAt: null }, select: { id: true } })
        if (!asset) return send(res, 400, { assetId: ['No such asset.'] })
        const clip = await prisma.clip.create({
          data: { assetId, startTime, endTime, duration: endTime - startTime, features: features ?? {}, score: score ?? null },
        })
        return send(res, 201, clip)
      }
      const m = /^\/clips\/([^/]+)\/score\/?$/.exec(url.pathname)
      if (m) {
        if (!UUID.test(m[1])) return send(res, 404, { detail: 'Not found.' })
        if (!unit(body.score)) return send(res, 400, { score: ['0 to 1.'] })
        const clip = await prisma.clip.findFirst({
          where: { id: m[1], deletedAt: null, asset: { userId: user.id, deletedAt: null } }, select: { id: true, status: true },
        })
        if (!clip) return send(res, 404, { detail: 'Not found.' })
        const promote = clip.status === 'PENDING' || clip.status === 'ANALYZED'
        const updated = await prisma.clip.update({
          where: { id: clip.id }, data: { score: body.score, ...(promote ? { status: 'SCORED' as const } : {}) },
        })
        return send(res, 200, updated)
      }
      send(res, 404, { detail: 'Not found.' })
    } catch (e) {
      console.error(e)
      send(res, 500, { detail: 'Server error.' })
    }
  })
  server.keepAliveTimeout = 65_000
  server.listen(PORT, '127.0.0.1')
}
