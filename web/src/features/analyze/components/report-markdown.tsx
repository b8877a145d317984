import Markdown from 'react-markdown'

// The analyst writes line by line ("Market Stance: …" then "Confidence: …"); markdown would
// run such lines together, so each single line break becomes a hard one.
function keepLineBreaks(text: string): string {
  return text.replace(/([^\n])\n(?=[^\n])/g, '$1  \n')
}

// The analyst's markdown as plain elements. Raw HTML in it is dropped, never rendered, and
// react-markdown refuses unsafe link targets (javascript: and the like).
export default function ReportMarkdown({ text }: { text: string }) {
  return (
    <div className="report">
      <Markdown
        skipHtml
        components={{
          a: ({ href, children }) => <a href={href} target="_blank" rel="noopener noreferrer nofollow">{children}</a>,
          img: ({ alt }) => <span>{alt}</span>,
        }}
      >
        {keepLineBreaks(text)}
      </Markdown>
    </div>
  )
}
