import { render } from 'preact';
import '../shared/theme.css';

function Dashboard() {
  return <main><h1>smalltalk</h1></main>;
}

render(<Dashboard />, document.getElementById('app') as HTMLElement);
