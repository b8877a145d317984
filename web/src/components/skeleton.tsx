// A pulsing block where text will be. Hidden from screen readers: the part around it says in
// words what it waits for.
export function Skeleton({ className = '' }: { className?: string }) {
  return <span aria-hidden="true" className={`block animate-pulse rounded bg-sunken ${className}`} />
}
