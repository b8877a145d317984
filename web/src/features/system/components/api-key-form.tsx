import { useQueryClient } from '@tanstack/react-query'
import { useId, useState, type FormEvent } from 'react'
import { Button } from '../../../components/button'
import { getApiKey, setApiKey } from '../../../lib/api-key'

// For a server started with API_KEYS: the key this tab sends as X-API-Key.
export function ApiKeyForm() {
  const client = useQueryClient()
  const [value, setValue] = useState(getApiKey)
  const [saved, setSaved] = useState<string>()
  const id = useId()

  function save(e: FormEvent) {
    e.preventDefault()
    setApiKey(value)
    setSaved(value.trim() === '' ? 'No key is sent now.' : 'Saved for this tab.')
    void client.invalidateQueries()
  }

  return (
    <form onSubmit={save} className="flex flex-wrap items-end gap-3">
      <div className="flex flex-col gap-1">
        <label htmlFor={id} className="text-sm font-medium">API key</label>
        <input id={id} type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} className="min-h-10 w-64 rounded-lg border border-line bg-surface px-3" />
      </div>
      <Button type="submit">Save</Button>
      {saved && <p role="status" className="text-sm text-muted">{saved}</p>}
    </form>
  )
}
