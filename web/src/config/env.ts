// Build-time settings (Vite's import.meta.env), checked once at start-up.

export type Env = {
  // Where the API lives: '' is this page's own origin (the Go server serves both). For
  // development against another server, e.g. VITE_API_BASE_URL=http://localhost:8000
  // (that server must list this page's origin in CORS_ORIGINS).
  apiBaseUrl: string
}

export function parseEnv(raw: Record<string, unknown>): Env {
  const problems: string[] = []
  const base = raw.VITE_API_BASE_URL
  let apiBaseUrl = ''
  if (base !== undefined && base !== '') {
    if (typeof base !== 'string' || !/^https?:\/\/[^/]+(\/.*)?$/.test(base)) {
      problems.push(`VITE_API_BASE_URL must be an http(s) URL, got ${JSON.stringify(base)}`)
    } else {
      apiBaseUrl = base.replace(/\/+$/, '')
    }
  }
  if (problems.length > 0) {
    throw new Error(`invalid environment:\n- ${problems.join('\n- ')}`)
  }
  return { apiBaseUrl }
}

export const env = parseEnv(import.meta.env)
