/** Top level: the login page at /login, the dashboard everywhere else. */
import { LoginPage } from './login.js';
import { Dashboard } from './dashboard.js';

export function App() {
  return location.pathname === '/login' ? <LoginPage /> : <Dashboard />;
}
