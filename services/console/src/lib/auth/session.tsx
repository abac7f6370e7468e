// Who is signed in. GET /auth/session on start (the cookie is HttpOnly, so the page cannot look), login
// and logout, the CSRF token handed to the REST client, and a redirect to /login when the API or the
// WebSocket says the session is gone.
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import { Navigate, useLocation, useNavigate } from "react-router-dom";
import { rawJson, setApiUnauthenticatedHandler, setCsrfToken } from "../api/client";
import { ApiError } from "../api/errors";
import type { Me, SessionOut } from "../api/types";
import { live, setUnauthenticatedHandler } from "../live";

type Status = "loading" | "anonymous" | "signed-in";

interface SessionValue {
  status: Status;
  me: Me | null;
  login(username: string, password: string): Promise<void>;
  logout(): Promise<void>;
  changePassword(current: string, next: string): Promise<void>;
  /** Role checks for showing controls; the API still decides (a 403 is shown as it says). */
  canOperate: boolean;
  isAdmin: boolean;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<Status>("loading");
  const [me, setMe] = useState<Me | null>(null);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();

  const accept = useCallback((s: SessionOut) => {
    setCsrfToken(s.csrf_token);
    setMe(s.user);
    setStatus("signed-in");
  }, []);

  const signedOut = useCallback(() => {
    setCsrfToken(null);
    setMe(null);
    setStatus("anonymous");
    queryClient.clear();
  }, [queryClient]);

  useEffect(() => {
    rawJson<SessionOut>("/api/v1/auth/session").then(accept, () => signedOut());
  }, [accept, signedOut]);

  useEffect(() => {
    const expired = () => {
      signedOut();
      const next = window.location.pathname + window.location.search;
      if (!window.location.pathname.startsWith("/login")) {
        navigate(`/login?next=${encodeURIComponent(next)}&expired=1`, { replace: true });
      }
    };
    setApiUnauthenticatedHandler(expired);
    setUnauthenticatedHandler(expired);
  }, [navigate, signedOut, location.key]);

  const value = useMemo<SessionValue>(() => {
    const role = me?.role;
    return {
      status,
      me,
      canOperate: role === "operator" || role === "admin",
      isAdmin: role === "admin",
      async login(username, password) {
        accept(await rawJson<SessionOut>("/api/v1/auth/login", "POST", { username, password }));
        live().connection.restart();
      },
      async logout() {
        try {
          await rawJson<void>("/api/v1/auth/logout", "POST");
        } finally {
          live().connection.stop();
          signedOut();
        }
      },
      async changePassword(current, next) {
        await rawJson<void>("/api/v1/auth/password", "POST", {
          current_password: current,
          new_password: next,
        });
        const s = await rawJson<SessionOut>("/api/v1/auth/session");
        accept(s);
      },
    };
  }, [status, me, accept, signedOut]);

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const v = useContext(SessionContext);
  if (!v) throw new Error("useSession outside SessionProvider");
  return v;
}

/** Pages behind a login: anonymous visitors go to /login and come back afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { status, me } = useSession();
  const location = useLocation();
  if (status === "loading") return null;
  if (status === "anonymous") {
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  if (me?.must_change_password && location.pathname !== "/account/password") {
    return <Navigate to={`/account/password?next=${encodeURIComponent(location.pathname)}`} replace />;
  }
  return <>{children}</>;
}

export function isForbidden(err: unknown): boolean {
  return err instanceof ApiError && err.status === 403;
}
