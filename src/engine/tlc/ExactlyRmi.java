// Runs a main class of TLC (tlc2.TLC, or the distributed mode's TLCServer and TLCWorker) with
// every RMI socket it opens bound to one address. TLC opens its RMI registry and remote objects
// (in a single process too: its fingerprint set is one) with Java's default socket factory,
// which listens on every interface; Java has no option for the address. Started by `exactly`,
// compiled once and kept in the temp folder (src/engine/tlc/launcher.rs):
//   java -cp tla2tools.jar:<its folder> ExactlyRmi <bind address> <main class> <its arguments>...

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.rmi.server.RMISocketFactory;
import java.util.Arrays;

public class ExactlyRmi {
    public static void main(String[] args) throws Throwable {
        final InetAddress bind = InetAddress.getByName(args[0]);
        RMISocketFactory.setSocketFactory(new RMISocketFactory() {
            @Override
            public Socket createSocket(String host, int port) throws IOException {
                return new Socket(host, port);
            }

            @Override
            public ServerSocket createServerSocket(int port) throws IOException {
                return new ServerSocket(port, 50, bind);
            }
        });
        String[] rest = Arrays.copyOfRange(args, 2, args.length);
        try {
            Class.forName(args[1]).getMethod("main", String[].class).invoke(null, (Object) rest);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
