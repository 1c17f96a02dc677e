import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Me, Partner } from './api';

export interface SessionState {
  me: Me | null;
  /** Sets the logged-in user (after login, sign-up, reset) or null after logout. */
  setMe: (me: Me | null) => void;
  refresh: () => Promise<void>;
}

export const SessionContext = createContext<SessionState>({ me: null, setMe: () => {}, refresh: async () => {} });

export const useSession = () => useContext(SessionContext);

export function orgPath(partnerId: string, rest = 'talks') {
  return `/dashboard/o/${partnerId}/${rest}`;
}

export const canAdmin = (p: Partner | undefined) => p?.role === 'owner' || p?.role === 'admin';
