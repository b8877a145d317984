export function Disclaimer({ className = '' }: { className?: string }) {
  return (
    <p className={`text-sm text-muted ${className}`}>
      <strong className="font-semibold text-fg">Not investment advice.</strong>{' '}
      Forecasts are statistical estimates from past prices and can be wrong; the report is written by a language model.
    </p>
  )
}
