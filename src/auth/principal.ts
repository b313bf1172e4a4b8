/** Who a request speaks for: the user, the key it used (revocation closes what that key opened), the role. */
export interface Principal {
  userId: string;
  keyId: string;
  isAdmin: boolean;
}
