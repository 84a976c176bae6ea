import type { Me } from "@neosc/core/auth";
import { createContext, useContext } from "react";

export const MeContext = createContext<Me | null>(null);

/** The signed-in person; only usable below the app shell, which guarantees one. */
export function useMe(): Me {
  const me = useContext(MeContext);
  if (me === null) throw new Error("useMe() used outside the signed-in app shell");
  return me;
}
