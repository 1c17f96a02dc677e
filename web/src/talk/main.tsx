import { render } from 'preact';
import '../shared/theme.css';

function TalkPage() {
  return <main><h1>talk</h1></main>;
}

render(<TalkPage />, document.getElementById('app') as HTMLElement);
