import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Security;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.HexFormat;
import javax.crypto.KeyAgreement;

/**
 * ECDHAgree derives ECDH secrets with Java's SunPKCS11 provider and a token
 * private key (KeyAgreement "ECDH": C_DeriveKey CKM_ECDH1_DERIVE, then
 * CKA_VALUE of the derived key), and the same secret in software (SunEC)
 * from the peer's side: the peer's private key and the public key of the
 * token key's certificate. It verifies nothing; ecdh_clients_test.go
 * compares both with Go's crypto/ecdh.
 *
 * Usage: java ECDHAgree.java sunpkcs11.cfg PIN (ALIAS PEER_SPKI.der PEER_PKCS8.der)...
 * Output, one line per case i (from 0), in order:
 *   case i ok TOKEN_HEX SOFTWARE_HEX
 *   case i error CLASS: MESSAGE <- CAUSE_CLASS: CAUSE_MESSAGE ...
 */
public class ECDHAgree {
    public static void main(String[] args) throws Exception {
        Provider p = Security.getProvider("SunPKCS11").configure(args[0]);
        Security.addProvider(p);
        KeyStore ks = KeyStore.getInstance("PKCS11", p);
        ks.load(null, args[1].toCharArray());
        KeyFactory kf = KeyFactory.getInstance("EC", "SunEC");
        HexFormat hex = HexFormat.of();
        for (int i = 0, a = 2; a + 2 < args.length; i++, a += 3) {
            try {
                PrivateKey priv = (PrivateKey) ks.getKey(args[a], null);
                if (priv == null) {
                    throw new IllegalStateException("no private key entry " + args[a] + " in the keystore");
                }
                PublicKey tokenPub = ks.getCertificate(args[a]).getPublicKey();
                PublicKey peerPub = kf.generatePublic(new X509EncodedKeySpec(Files.readAllBytes(Path.of(args[a + 1]))));
                PrivateKey peerPriv = kf.generatePrivate(new PKCS8EncodedKeySpec(Files.readAllBytes(Path.of(args[a + 2]))));

                KeyAgreement token = KeyAgreement.getInstance("ECDH", p);
                token.init(priv);
                token.doPhase(peerPub, true);
                byte[] z = token.generateSecret();

                KeyAgreement sw = KeyAgreement.getInstance("ECDH", "SunEC");
                sw.init(peerPriv);
                sw.doPhase(tokenPub, true);
                byte[] zsw = sw.generateSecret();
                System.out.println("case " + i + " ok " + hex.formatHex(z) + " " + hex.formatHex(zsw));
            } catch (Exception e) {
                StringBuilder b = new StringBuilder();
                for (Throwable c = e; c != null; c = c.getCause()) {
                    if (b.length() > 0) {
                        b.append(" <- ");
                    }
                    b.append(c.getClass().getName()).append(": ").append(c.getMessage());
                }
                System.out.println("case " + i + " error " + b.toString().replace('\n', ' '));
            }
        }
    }
}
