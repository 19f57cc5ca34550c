/** Entry point: mounts the app. Styles are imported here so Vite emits them as a file (the CSP allows no inline styles). */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
