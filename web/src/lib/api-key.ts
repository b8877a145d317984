// The API key (X-API-Key) a server started with API_KEYS wants. A browser cannot send a header
// when it opens a page, so the user enters the key once and this tab keeps it.

const slot = 'stockagent.apiKey'

export function getApiKey(): string {
  return sessionStorage.getItem(slot) ?? ''
}

export function setApiKey(key: string): void {
  if (key.trim() === '') sessionStorage.removeItem(slot)
  else sessionStorage.setItem(slot, key.trim())
}
