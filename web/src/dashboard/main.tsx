import { render } from 'preact';
import '../shared/theme.css';
import './dashboard.css';
import { App } from './app';

render(<App />, document.getElementById('app') as HTMLElement);
