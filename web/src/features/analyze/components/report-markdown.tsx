import Markdown from 'react-markdown'

// The analyst writes line by line ("Market Stance: …" then "Confidence: …"); markdown would
// run such lines together, so each single line break becomes a hard one.
function keepLineBreaks(text: string): string {
  return text.replace(/([^\n])\n(?=[^\n])/g, '$1  \n')
}

// The report's two parts, named by their headings (analyst: agent/report.py): the facts rendered
// by code and the short fields the language model wrote. The heading says it in words; the
// style only repeats it.
const SOURCES: Record<string, string> = {
  'From the data': 'report-source report-source-data',
  'From the language model': 'report-source report-source-model',
}

// The analyst's markdown as plain elements. Raw HTML in it is dropped, never rendered, and
// react-markdown refuses unsafe link targets (javascript: and the like). A part shown while the
// report is written is styled as the report but is not it (class report-part, not report).
export default function ReportMarkdown({ text, part = false }: { text: string, part?: boolean }) {
  return (
    <div className={part ? 'report-part' : 'report'}>
      <Markdown
        skipHtml
        components={{
          a: ({ href, children }) => <a href={href} target="_blank" rel="noopener noreferrer nofollow">{children}</a>,
          img: ({ alt }) => <span>{alt}</span>,
          h3: ({ children }) => <h3 className={typeof children === 'string' ? SOURCES[children] : undefined}>{children}</h3>,
        }}
      >
        {keepLineBreaks(text)}
      </Markdown>
    </div>
  )
}
