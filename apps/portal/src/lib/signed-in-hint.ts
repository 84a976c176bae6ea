const KEY = "neosc-signed-in";

/**
 * A hint (not a credential) that this browser signed in before. Without it the shell goes
 * straight to the sign-in page instead of asking `auth.me` and collecting a 401 first.
 */
export function hasSignedInHint(): boolean {
  try {
    return window.localStorage.getItem(KEY) === "1";
  } catch {
    return true;
  }
}

export function setSignedInHint(signedIn: boolean) {
  try {
    if (signedIn) window.localStorage.setItem(KEY, "1");
    else window.localStorage.removeItem(KEY);
  } catch {
    // Without storage the shell simply asks the API every time.
  }
}
