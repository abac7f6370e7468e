import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { App as AntApp, ConfigProvider } from "antd";
import { BrowserRouter } from "react-router-dom";
import { ApiError } from "./lib/api/errors";
import { SessionProvider } from "./lib/auth/session";
import { AppRoutes } from "./routes";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Live data comes over the WebSocket; REST reads are not re-polled behind the user's back.
      refetchOnWindowFocus: false,
      staleTime: 30_000,
      retry: (n, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && n < 2,
    },
  },
});

export function App() {
  return (
    // Colours darkened from antd's defaults so text meets WCAG AA contrast (axe-core runs on every page).
    <ConfigProvider
      theme={{
        token: {
          colorPrimary: "#1f5fbf",
          colorLink: "#1f5fbf",
          colorInfo: "#1f5fbf",
          colorError: "#c0181b",
          colorSuccess: "#2f7d12",
          colorWarning: "#ad6800",
          colorTextDescription: "rgba(0, 0, 0, 0.65)",
          colorTextPlaceholder: "rgba(0, 0, 0, 0.56)",
          colorTextTertiary: "rgba(0, 0, 0, 0.6)",
        },
      }}
    >
      <AntApp>
        <QueryClientProvider client={queryClient}>
          <BrowserRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
            <SessionProvider>
              <AppRoutes />
            </SessionProvider>
          </BrowserRouter>
        </QueryClientProvider>
      </AntApp>
    </ConfigProvider>
  );
}
